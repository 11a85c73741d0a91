import Foundation
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
    }

    public let file: URL
    let maxBytes: Int
    let keep: Int
    let state = Mutex(State())

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
        state.withLock { s in
            if s.fd < 0 { open(&s) }
            guard s.fd >= 0 else { return }
            if s.size > 0, s.size + bytes.count > maxBytes {
                rotate(&s)
                guard s.fd >= 0 else { return }
            }
            let written = bytes.withUnsafeBytes { Glibc.write(s.fd, $0.baseAddress, $0.count) }
            if written > 0 { s.size += written }
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
