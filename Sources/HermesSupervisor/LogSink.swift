import CoreMetrics
import Foundation
import HermesCore
import Logging

/// Captures a child's stdout+stderr from a pipe into a size-rotated log file, keeping the last lines in
/// memory for failure messages.
///
/// Rotation: past `maxBytes`, `NAME.log` becomes `NAME.log.1` (older ones shift up to `keep`), so disk
/// use stays under `maxBytes x (keep + 1)`.
public final class LogSink: @unchecked Sendable {
    public let file: URL
    private let settings: LogSettings
    private let lock = NSLock()
    private var tail: [String] = []
    private var partial = Data()
    private var handle: FileHandle?
    private var written: Int = 0
    private var lineObservers: [(String) -> Void] = []
    private let tailLimit = 200
    /// Chunks that could not be written (a full disk): `hermes_events_dropped_total{log="server"}`,
    /// one daemon log line when writing starts failing and one when it works again.
    public let failures = WriteFailureTally()

    public init(file: URL, settings: LogSettings) throws {
        self.file = file
        self.settings = settings
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: file.path) {
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        }
        handle = try FileHandle(forWritingTo: file)
        written = Int((try? handle?.seekToEnd()) ?? 0)
    }

    /// Called with every complete line (on the reader thread).
    public func onLine(_ observer: @escaping (String) -> Void) {
        lock.withLock { lineObservers.append(observer) }
    }

    /// A pipe whose write end goes to the child; a thread copies the read end here until EOF.
    public func attachPipe() throws -> Int32 {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        let readFD = fds[0]
        // The read end must not leak into children spawned later.
        _ = fcntl(readFD, F_SETFD, FD_CLOEXEC)
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = read(readFD, &buffer, buffer.count)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                self.append(Data(buffer[0..<n]))
            }
            close(readFD)
            self.flushPartial()
        }
        thread.name = "hermes-log-\(file.lastPathComponent)"
        thread.start()
        return fds[1]
    }

    /// A line of our own in the log (e.g. "hermes-runtime: restarting after exit code 1").
    public func note(_ text: String) {
        append(Data("[hermes-runtime] \(text)\n".utf8))
    }

    func append(_ data: Data) {
        var complete: [String] = []
        let observers: [(String) -> Void] = lock.withLock {
            rotateIfNeeded(adding: data.count)
            do {
                guard let handle else { throw POSIXError(.EBADF) }
                try handle.write(contentsOf: data)
                written += data.count
                report(failures.record(ok: true), error: nil)
            } catch {
                Counter(label: "hermes_events_dropped_total", dimensions: [("log", "server")]).increment()
                report(failures.record(ok: false), error: error)
            }
            partial.append(data)
            while let nl = partial.firstIndex(of: 0x0A) {
                let line = String(decoding: partial[partial.startIndex..<nl], as: UTF8.self)
                partial.removeSubrange(partial.startIndex...nl)
                complete.append(line)
            }
            tail.append(contentsOf: complete)
            if tail.count > tailLimit { tail.removeFirst(tail.count - tailLimit) }
            return lineObservers
        }
        for line in complete { for o in observers { o(line) } }
    }

    func flushPartial() {
        lock.withLock {
            if !partial.isEmpty {
                tail.append(String(decoding: partial, as: UTF8.self))
                partial.removeAll()
            }
        }
    }

    private func report(_ transition: WriteFailureTally.Transition, error: (any Error)?) {
        let logger = Logger(label: "hermes-runtime.logs")
        switch transition {
        case .none: break
        case .startedFailing:
            logger.error("a server log cannot be written; counting lost chunks in hermes_events_dropped_total",
                         metadata: ["file": "\(file.path)", "error": "\(error.map { "\($0)" } ?? "-")"])
        case .recovered(let lost):
            logger.notice("a server log is written again", metadata: ["file": "\(file.path)", "lost": "\(lost)"])
        }
    }

    /// The last `n` lines written.
    public func lastLines(_ n: Int) -> [String] {
        lock.withLock { Array(tail.suffix(n)) }
    }

    private func rotateIfNeeded(adding count: Int) {
        guard written + count > settings.maxBytes, written > 0 else { return }
        try? handle?.close()
        let fm = FileManager.default
        let keep = max(1, settings.keep)
        try? fm.removeItem(atPath: "\(file.path).\(keep)")
        if keep > 1 {
            for i in stride(from: keep - 1, through: 1, by: -1) {
                try? fm.moveItem(atPath: "\(file.path).\(i)", toPath: "\(file.path).\(i + 1)")
            }
        }
        try? fm.moveItem(atPath: file.path, toPath: "\(file.path).1")
        _ = fm.createFile(atPath: file.path, contents: nil)
        handle = try? FileHandle(forWritingTo: file)
        written = 0
    }

    deinit { try? handle?.close() }
}
