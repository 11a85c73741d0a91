import CoreMetrics
import Foundation
import HermesCore
import Logging

/// A server's log file as the daemon sees it. The server writes to the file itself (its keeper opened it
/// with O_APPEND and handed it over as stdout and stderr), so no process of ours sits between a server
/// and its log: a daemon that dies cannot block the server on a full pipe or kill it with SIGPIPE.
/// The daemon only adds its own notes ("[hermes-runtime] ready on ...") and reads the tail back.
///
/// Rotation is copy-then-truncate: past `maxBytes`, `NAME.log` is copied to `NAME.log.1` (older ones
/// shift up to `keep`) and truncated in place. Every writer appends, so writes simply continue at the
/// new end, whoever opened the file and whichever daemon runs now. A line written between the copy and
/// the truncate can be lost (the known cost of copytruncate, as with logrotate).
public final class LogSink: @unchecked Sendable {
    public let file: URL
    private let settings: LogSettings
    private let lock = NSLock()
    /// Notes that could not be written (a full disk): `hermes_events_dropped_total{log="server"}`, one
    /// daemon log line when writing starts failing and one when it works again. (The server's own output
    /// goes to the file without us, so only the server could see its writes fail.)
    public let failures = WriteFailureTally()
    /// Our notes that could not be written (a full disk), newest last, so a failure message still shows
    /// them in the tail. At most 50.
    private var unwritten: [String] = []

    public init(file: URL, settings: LogSettings) throws {
        self.file = file
        self.settings = settings
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let fd = open(file.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        close(fd)
    }

    /// The file opened for appending, for a child's stdout and stderr (the caller closes it).
    public func openForAppending() throws -> Int32 {
        let fd = open(file.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        return fd
    }

    /// A line of our own in the log (e.g. "hermes-runtime: restarting after exit code 1").
    public func note(_ text: String) {
        lock.withLock {
            LogRotation.rotateIfNeeded(path: file.path, settings: settings)
            let fd = open(file.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            let line = Array("[hermes-runtime] \(text)\n".utf8)
            let written = fd < 0 ? -1 : line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let error = written == line.count ? nil : errno
            if fd >= 0 { close(fd) }
            if error != nil {
                Counter(label: "hermes_events_dropped_total", dimensions: [("log", "server")]).increment()
                unwritten.append("[hermes-runtime] \(text)")
                if unwritten.count > 50 { unwritten.removeFirst(unwritten.count - 50) }
            }
            report(failures.record(ok: error == nil), error: error)
        }
    }

    private func report(_ transition: WriteFailureTally.Transition, error: Int32?) {
        let logger = Logger(label: "hermes-runtime.logs")
        switch transition {
        case .none: break
        case .startedFailing:
            logger.error("a server log cannot be written; counting lost lines in hermes_events_dropped_total",
                         metadata: ["file": "\(file.path)", "error": "\(error.map { String(cString: strerror($0)) } ?? "-")"])
        case .recovered(let lost):
            logger.notice("a server log is written again", metadata: ["file": "\(file.path)", "lost": "\(lost)"])
        }
    }

    /// The last `n` lines of the file (read from its last 64 KiB, and only from a regular file: a
    /// device such as /dev/full or /dev/zero would never end), then any notes that could not be written.
    public func lastLines(_ n: Int) -> [String] {
        var lines: [String] = []
        var st = stat()
        if stat(file.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, let h = FileHandle(forReadingAtPath: file.path) {
            defer { try? h.close() }
            let end = (try? h.seekToEnd()) ?? 0
            try? h.seek(toOffset: end > 65536 ? end - 65536 : 0)
            let data = (try? h.read(upToCount: 65536)) ?? Data()
            lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            if end > 65536, !lines.isEmpty { lines.removeFirst() }  // most likely a partial line
        }
        lines += lock.withLock { unwritten }
        return Array(lines.suffix(max(0, n)))
    }
}

/// Size-based copy-then-truncate rotation, shared by the keeper (which checks every second) and the
/// daemon's notes.
public enum LogRotation {
    /// Rotates `path` when it holds more than `settings.maxBytes`; true when it did.
    @discardableResult
    public static func rotateIfNeeded(path: String, settings: LogSettings) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0, Int(st.st_size) > settings.maxBytes else { return false }
        let fm = FileManager.default
        let keep = max(1, min(settings.keep, 100))
        try? fm.removeItem(atPath: "\(path).\(keep)")
        if keep > 1 {
            for i in stride(from: keep - 1, through: 1, by: -1) {
                _ = rename("\(path).\(i)", "\(path).\(i + 1)")
            }
        }
        guard copy(path, to: "\(path).1") else { return false }
        return truncate(path, 0) == 0
    }

    private static func copy(_ from: String, to: String) -> Bool {
        let src = open(from, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else { return false }
        defer { close(src) }
        let dst = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard dst >= 0 else { return false }
        defer { close(dst) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(src, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return n == 0 }
            var off = 0
            while off < n {
                let w = buffer[off..<n].withUnsafeBytes { write(dst, $0.baseAddress, $0.count) }
                if w < 0, errno == EINTR { continue }
                if w <= 0 { return false }
                off += w
            }
        }
    }
}
