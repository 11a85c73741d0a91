import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What a finished child process left.
struct ProcessResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double
    var timedOut: Bool

    var description: String {
        "exit \(status) after \(String(format: "%.2f", seconds)) s\(timedOut ? " (TIMED OUT)" : "")\n"
            + "--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)"
    }
}

final class Box<T: Sendable>: Sendable {
    let value: Mutex<T>
    init(_ v: T) { value = Mutex(v) }
    func get() -> T { value.withLock { $0 } }
    func set(_ v: T) { value.withLock { $0 = v } }
}

/// Runs a program to the end (or until `timeout`, then SIGTERM to it), without blocking the test
/// runner's cooperative threads or the dispatch pool (other tests need both): pipes are drained on
/// threads of their own and the wait is a continuation.
func runProcess(_ executable: String, _ arguments: [String], timeout: Double = 60) async throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let outData = Box(Data()), errData = Box(Data())
    let finished = Box(false), timedOut = Box(false)
    let readers = DispatchGroup()
    let start = Date()

    return try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { p in
            finished.set(true)
            readers.wait()
            continuation.resume(returning: ProcessResult(
                status: p.terminationStatus, stdout: String(decoding: outData.get(), as: UTF8.self),
                stderr: String(decoding: errData.get(), as: UTF8.self), seconds: Date().timeIntervalSince(start),
                timedOut: timedOut.get()))
        }
        for (handle, sink) in [(out.fileHandleForReading, outData), (err.fileHandleForReading, errData)] {
            readers.enter()
            Thread.detachNewThread {
                sink.set(handle.readDataToEndOfFile())
                readers.leave()
            }
        }
        do {
            try process.run()
        } catch {
            // Nothing started: close our write ends so the readers finish.
            try? out.fileHandleForWriting.close()
            try? err.fileHandleForWriting.close()
            readers.wait()
            continuation.resume(throwing: error)
            return
        }
        let pid = process.processIdentifier
        Thread.detachNewThread {
            let deadline = Date(timeIntervalSinceNow: timeout)
            while !finished.get() && Date() < deadline { usleep(20_000) }
            if !finished.get() {
                timedOut.set(true)
                kill(pid, SIGTERM)
            }
        }
    }
}
