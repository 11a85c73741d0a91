#ifndef HERMES_CROCMSMI_SHIM_H
#define HERMES_CROCMSMI_SHIM_H
// Debian's librocm-smi-dev: /usr/include/rocm_smi/rocm_smi.h, /usr/lib/librocm_smi64.so (scripts/setup-system.sh).
#include <rocm_smi/rocm_smi.h>
#endif
