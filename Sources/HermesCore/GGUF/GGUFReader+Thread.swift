import Dispatch
import Foundation
import Synchronization

extension GGUFReader {
    /// Reads `path` and summarises it on a thread of its own, never on the caller's: the daemon runs
    /// Swift concurrency on NIO's event loops, where a blocking `open` or `pread` (a FIFO, a stalled
    /// network mount, a slow disk) would stop `/health`, routing and the control API with it.
    ///
    /// Answers within `limits.blockedLimit` even when the read is stuck in the kernel:
    /// the answer is then a `.cannotOpen` error and the stuck thread is left to finish on its own. At
    /// most `maxStuckReads` such threads are allowed; past that reads are refused at once, so a
    /// wedged mount cannot pile up threads.
    public func readModelInfoOnOwnThread(path: String) async throws(GGUFError) -> GGUFModelInfo {
        let result: Result<GGUFModelInfo, GGUFError> = await withCheckedContinuation { continuation in
            let once = OnceResume(continuation)
            guard OwnThreadReads.begin() else {
                once.resume(.failure(.cannotOpen(
                    path: path, reason: "\(OwnThreadReads.limit) earlier reads of model files are still blocked (a stalled disk or mount?)")))
                return
            }
            let thread = Thread {
                let outcome: Result<GGUFModelInfo, GGUFError>
                do throws(GGUFError) {
                    outcome = .success(try self.readModelInfo(path: path))
                } catch {
                    outcome = .failure(error)
                }
                OwnThreadReads.end()
                once.resume(outcome)
            }
            thread.name = "hermes-gguf-read"
            thread.start()
            let limit = limits.blockedLimit
            let (seconds, attoseconds) = limit.components
            let wait = min(max(Double(seconds) + Double(attoseconds) / 1e18, 0), 86_400)
            DispatchQueue.global().asyncAfter(deadline: .now() + wait) {
                once.resume(.failure(.cannotOpen(path: path, reason: "reading it took longer than \(limit) (a FIFO, a stalled disk or mount?)")))
            }
        }
        return try result.get()
    }

    /// How many reads may be stuck on their threads at once.
    public static var maxStuckReads: Int { OwnThreadReads.limit }
}

/// Resumes a continuation exactly once, from whichever of the reader thread and the timer comes first.
private final class OnceResume: Sendable {
    private let state: Mutex<CheckedContinuation<Result<GGUFModelInfo, GGUFError>, Never>?>

    init(_ continuation: CheckedContinuation<Result<GGUFModelInfo, GGUFError>, Never>) {
        state = Mutex(continuation)
    }

    func resume(_ result: Result<GGUFModelInfo, GGUFError>) {
        let continuation = state.withLock { c -> CheckedContinuation<Result<GGUFModelInfo, GGUFError>, Never>? in
            defer { c = nil }
            return c
        }
        continuation?.resume(returning: result)
    }
}

/// Reads in flight on their own threads (finished or not).
private enum OwnThreadReads {
    static let limit = 8
    static let running = Mutex(0)

    static func begin() -> Bool {
        running.withLock { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    static func end() { running.withLock { $0 -= 1 } }
}
