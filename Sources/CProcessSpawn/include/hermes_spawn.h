#ifndef HERMES_SPAWN_H
#define HERMES_SPAWN_H
#include <sys/types.h>

/// Spawns `path` with `argv`/`envp` in its own process group (or, with `detach`, its own session).
/// Without `detach` the child gets PR_SET_PDEATHSIG(SIGKILL), so it dies with the thread that forked it:
/// call this from a thread that lives as long as the daemon. stdin is /dev/null; stdout and stderr go
/// to `out_fd` (or /dev/null when negative). Every other descriptor is closed in the child.
/// Returns the pid, or -1 with `*err` set to the errno of the failed step (fork, or exec in the child).
pid_t hermes_spawn(const char *path, char *const argv[], char *const envp[], int out_fd, int detach, int *err);

/// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or 0 when unreadable.
/// With the pid it identifies a process across pid reuse.
unsigned long long hermes_process_start_time(pid_t pid);

#endif
