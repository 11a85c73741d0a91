#if canImport(Glibc)
import Glibc
#endif

/// glibc malloc settings for a process that handles request bodies of hundreds of KB.
///
/// By default glibc hands every block it frees above ~128 KB back to the kernel (`madvise`, or
/// `munmap` for blocks it mapped on their own) and the next request of that size faults the same pages
/// in again: on a 600 KB agent request that was a quarter of the front's CPU (page faults and
/// `madvise`, docs/benchmarks.md "Request path"). Keeping up to `trimThreshold` bytes free at the top
/// of each heap, and serving blocks up to `mmapThreshold` bytes from the heaps, makes the next request
/// reuse them. The cost is memory held between requests: free blocks up to about `trimThreshold` at
/// the top of each malloc arena's heap (a handful of arenas on two cores; after a benchmark run ending
/// with 600 KB requests at concurrency 8 the front held 23 MiB of heap where it held 9 before).
///
/// `mallopt` is looked up at run time: `<malloc.h>` is not in Swift's Glibc module, and another libc
/// (musl) simply has none, which leaves its defaults.
public enum HeapTuning {
    static let mmapThreshold: Int32 = 8 << 20
    /// 8 MiB: as fast as 32 MiB on 600 KB requests at concurrency 8 (1.0 ms of CPU each, 1.5 ms with
    /// glibc's defaults), with 15 MiB of heap at the end instead of 22 (docs/benchmarks.md).
    static let trimThreshold: Int32 = 8 << 20
    // glibc's <malloc.h>: M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3 (part of its stable ABI).
    static let optTrimThreshold: Int32 = -1
    static let optMmapThreshold: Int32 = -3

    /// Applies the settings (mallopt is thread-safe; repeating it is harmless). True when applied.
    /// `HERMES_RUNTIME_MALLOC_DEFAULTS=1` in the environment leaves glibc's own (docs/operations.md).
    /// Called by the daemon's process (`Daemon.run`) and the benchmark's front, not by `buildFront`:
    /// the setting is process-wide, and a test runner building fronts in process keeps its defaults.
    @discardableResult
    public static func keepFreedBlocks() -> Bool {
        #if canImport(Glibc)
        guard getenv("HERMES_RUNTIME_MALLOC_DEFAULTS") == nil, let mallopt = lookUp() else { return false }
        return mallopt(optMmapThreshold, mmapThreshold) == 1 && mallopt(optTrimThreshold, trimThreshold) == 1
        #else
        return false
        #endif
    }

    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32

    /// glibc's `mallopt`, nil where there is none.
    static func lookUp() -> Mallopt? {
        #if canImport(Glibc)
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return nil }
        return unsafeBitCast(sym, to: Mallopt.self)
        #else
        return nil
        #endif
    }
}
