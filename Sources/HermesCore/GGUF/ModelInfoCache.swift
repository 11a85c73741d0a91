#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// What identifies one version of a file: replaced, rewritten or touched, it is another.
struct FileIdentity: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modifiedSeconds: Int64
    let modifiedNanoseconds: Int64

    init(_ s: stat) {
        device = UInt64(truncatingIfNeeded: s.st_dev)
        inode = UInt64(truncatingIfNeeded: s.st_ino)
        size = Int64(truncatingIfNeeded: s.st_size)
        modifiedSeconds = Int64(truncatingIfNeeded: s.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(truncatingIfNeeded: s.st_mtim.tv_nsec)
    }
}

/// The summaries of model files already read, per path and file identity, for the life of the process.
/// A file that changes (another inode, size or mtime) is read again. Bounded: past `capacity` entries
/// the oldest half is dropped (a daemon names a handful of models).
final class ModelInfoCache: Sendable {
    static let shared = ModelInfoCache()
    static let capacity = 64

    private struct Key: Hashable {
        let path: String
        let identity: FileIdentity
    }

    private struct State {
        var entries: [Key: (info: GGUFModelInfo, order: UInt64)] = [:]
        var next: UInt64 = 0
        var parses: Int = 0
    }

    private let state = Mutex(State())

    func info(path: String, identity: FileIdentity?) -> GGUFModelInfo? {
        guard let identity else { return nil }
        return state.withLock { $0.entries[Key(path: path, identity: identity)]?.info }
    }

    func store(_ info: GGUFModelInfo, path: String, identity: FileIdentity?) {
        state.withLock { s in
            s.parses += 1
            guard let identity else { return }
            if s.entries.count >= Self.capacity {
                let cut = s.entries.values.map(\.order).sorted()[s.entries.count / 2]
                s.entries = s.entries.filter { $0.value.order >= cut }
            }
            s.next &+= 1
            s.entries[Key(path: path, identity: identity)] = (info, s.next)
        }
    }

    /// How many files were parsed and stored (tests: a second read of the same file adds none).
    var parses: Int { state.withLock { $0.parses } }
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`): what a parse spends, however busy the
/// machine is.
enum ThreadCPUTime {
    static func now() -> Duration {
        var t = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0 else { return .zero }
        return .seconds(Int64(t.tv_sec)) + .nanoseconds(Int64(t.tv_nsec))
    }
}
