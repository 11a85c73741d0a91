#define _GNU_SOURCE
#include "hermes_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Only async-signal-safe calls between fork and exec: the parent is multithreaded.
static void close_other_fds(int keep) {
#ifdef SYS_close_range
    if (keep > 3) {
        syscall(SYS_close_range, 3, (unsigned)keep - 1, 0);
        if (syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0) == 0) return;
    } else if (syscall(SYS_close_range, 3, ~0U, 0) == 0) {
        return;
    }
#endif
    for (int fd = 3; fd < 65536; fd++) if (fd != keep) close(fd);
}

pid_t hermes_spawn(const char *path, char *const argv[], char *const envp[], int out_fd, int detach, int *err) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) { *err = errno; return -1; }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        *err = errno;
        close(report[0]);
        close(report[1]);
        return -1;
    }
    if (pid == 0) {
        int e;
        if (detach) {
            setsid();
        } else {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            // The parent may have died before prctl took effect.
            if (getppid() != parent) _exit(127);
            setpgid(0, 0);
        }
        // Undo signal state inherited from the daemon.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) dup2(devnull, 0);
        int out = out_fd >= 0 ? out_fd : devnull;
        if (out >= 0) {
            dup2(out, 1);
            dup2(out, 2);
        }
        close_other_fds(report[1]);
        execve(path, argv, envp);
        e = errno;
        (void)!write(report[1], &e, sizeof e);
        _exit(127);
    }
    close(report[1]);
    int child_errno = 0;
    ssize_t n;
    do { n = read(report[0], &child_errno, sizeof child_errno); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof child_errno) {
        // exec failed: reap the child and report why.
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *err = child_errno;
        return -1;
    }
    if (!detach) setpgid(pid, pid);  // also from the parent, so the group exists before we return
    return pid;
}

unsigned long long hermes_process_start_time(pid_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    // The command name (field 2) may hold spaces and parentheses: count fields after the LAST ')'.
    char *p = strrchr(buf, ')');
    if (!p) return 0;
    int field = 2;
    for (p++; *p; p++) {
        if (*p == ' ') {
            field++;
            if (field == 22) return strtoull(p + 1, NULL, 10);
        }
    }
    return 0;
}
