#ifndef HERMES_CFUZZDRIVER_H
#define HERMES_CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (compiler-rt FuzzerDriver.cpp, linked by -sanitize=fuzzer).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

// Runs libFuzzer on `callback` with the process's arguments. On Linux SwiftPM links every executable
// with `main` aliased to `<module>_main`, so a target defines that symbol and calls this; libFuzzer's
// own `main` is then never linked in.
static inline int hermes_fuzz_run(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size)) {
    return LLVMFuzzerRunDriver(&argc, &argv, callback);
}
#endif
