import CoreMetrics
import Foundation
import HermesCore
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Appends one JSON line per request to a file and rotates it by size (`file.1` ... `file.N`).
///
/// Writes go straight to a file descriptor opened with `O_APPEND` under a lock: one `write(2)` per
/// event keeps lines whole, and the lock keeps rotation from racing a write.
public final class EventLog: Sendable {
    struct State {
        var fd: Int32 = -1
        var size: Int = 0
        /// The last `recentCapacity` lines, oldest first once full at `next` (the status page's
        /// "last routing decisions"; an event holds a prompt's hash and length, never its text).
        var recent: [[UInt8]] = []
        var next = 0
    }

    /// Lines kept in memory for ``recentLines()``.
    public static let recentCapacity = 50

    public let file: URL
    let maxBytes: Int
    let keep: Int
    let state = Mutex(State())
    /// Lines that could not be written (a full disk): counted in `hermes_events_dropped_total{log="events"}`
    /// and said once in the daemon log per failing stretch, since a request must never fail for its event.
    public let failures = WriteFailureTally()

    /// - Parameters:
    ///   - maxBytes: rotate before a write would take the file past this size.
    ///   - keep: rotated files kept (`events.jsonl.1` is the newest).
    public init(file: URL, maxBytes: Int, keep: Int) {
        self.file = file
        self.maxBytes = max(4096, maxBytes)
        self.keep = max(1, keep)
    }

    deinit {
        state.withLock { if $0.fd >= 0 { close($0.fd) } }
    }

    /// Appends `line` (a newline is added). Failures are swallowed: an event log must never fail a request.
    public func append(_ line: Data) { append(Array(line)) }

    /// Appends `line` (a newline is added).
    public func append(_ line: [UInt8]) {
        var bytes = line
        bytes.append(0x0A)
        let ok: Bool = state.withLock { s in
            if s.recent.count < Self.recentCapacity {
                s.recent.append(line)
            } else {
                s.recent[s.next] = line
                s.next = (s.next + 1) % Self.recentCapacity
            }
            if s.fd < 0 { open(&s) }
            guard s.fd >= 0 else { return false }
            if s.size > 0, s.size + bytes.count > maxBytes {
                rotate(&s)
                guard s.fd >= 0 else { return false }
            }
            let written = bytes.withUnsafeBytes { Glibc.write(s.fd, $0.baseAddress, $0.count) }
            if written > 0 { s.size += written }
            return written == bytes.count
        }
        let transition = failures.record(ok: ok)
        if !ok { Counter(label: "hermes_events_dropped_total", dimensions: [("log", "events")]).increment() }
        Self.report(transition, file: file)
    }

    /// The last events appended (written to the file or not), newest first.
    public func recentLines() -> [[UInt8]] {
        state.withLock { s in
            let ordered = s.recent.count < Self.recentCapacity ? s.recent : Array(s.recent[s.next...] + s.recent[..<s.next])
            return ordered.reversed()
        }
    }

    /// One daemon log line when a log starts failing and one when it writes again.
    static func report(_ transition: WriteFailureTally.Transition, file: URL) {
        let logger = Logger(label: "hermes-runtime.events")
        switch transition {
        case .none: break
        case .startedFailing:
            logger.error("routing events cannot be written; counting them in hermes_events_dropped_total",
                         metadata: ["file": "\(file.path)", "errno": "\(errno)"])
        case .recovered(let lost):
            logger.notice("routing events are written again", metadata: ["file": "\(file.path)", "lost": "\(lost)"])
        }
    }

    private func open(_ s: inout State) {
        try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        s.fd = Glibc.open(file.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        var st = stat()
        if s.fd >= 0, fstat(s.fd, &st) == 0 { s.size = Int(st.st_size) }
    }

    private func rotate(_ s: inout State) {
        close(s.fd)
        s.fd = -1
        let path = file.path
        unlink("\(path).\(keep)")
        if keep > 1 {
            for i in stride(from: keep - 1, through: 1, by: -1) { rename("\(path).\(i)", "\(path).\(i + 1)") }
        }
        rename(path, "\(path).1")
        s.size = 0
        open(&s)
    }
}
