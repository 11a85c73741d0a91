#if canImport(Glibc)
import Glibc
#endif

/// The process's open-file limit, and the share of it the front's client connections may take.
enum FileLimit {
    /// Raises the soft RLIMIT_NOFILE to the hard one (systemd's usual soft limit is 1,024 with a hard
    /// limit far above) and returns the soft limit in force.
    static func raiseToHard() -> Int {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) == 0 else { return 1024 }
        if r.rlim_cur < r.rlim_max {
            var raised = r
            raised.rlim_cur = r.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { r = raised }
        }
        // RLIM_INFINITY and other huge values: the kernel's own cap (nr_open) is 1M by default.
        return r.rlim_cur > 1 << 20 ? 1 << 20 : Int(r.rlim_cur)
    }

    /// Half of what is left after 256 descriptors for everything else (server logs, pipes, the
    /// control socket, the events file): each client connection may hold an upstream connection too.
    static func connectionCap(descriptors: Int) -> Int {
        max(16, (descriptors - 256) / 2)
    }
}
