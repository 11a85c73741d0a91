import Foundation
import Testing

/// `@Suite(.realProcesses)`: a suite that runs real servers (llama-server, the daemon, a browser) waits
/// for one of a few places before it starts.
///
/// Swift Testing starts every suite at once; its pool has as many threads as cores, but a test waiting
/// on a process holds none, so on a 2-core box some twenty suites each ran their own llama-server and
/// daemon together. Waits that are only hang bounds then ran out (a restart took over 30 s, a 128-token
/// answer over 60 s), and timings the product itself keeps (a health probe's 1 s) stopped meaning what
/// the tests meant. The suites in memory still run beside them unhindered.
///
/// How many run at once: `HERMES_RUNTIME_TEST_PROCESS_SUITES`, else one more than the cores (at least 3).
public struct RealProcessesTrait: SuiteTrait, TestScoping {
    public var isRecursive: Bool { false }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws
    {
        await RealProcessGate.shared.enter()
        do {
            try await function()
        } catch {
            await RealProcessGate.shared.leave()
            throw error
        }
        await RealProcessGate.shared.leave()
    }
}

extension Trait where Self == RealProcessesTrait {
    /// The suite runs real processes: at most a few such suites run at once (see `RealProcessesTrait`).
    public static var realProcesses: Self { RealProcessesTrait() }
}

/// A counting semaphore for suites, first come first served.
actor RealProcessGate {
    static let shared = RealProcessGate(width: RealProcessGate.configuredWidth)

    static var configuredWidth: Int {
        if let text = ProcessInfo.processInfo.environment["HERMES_RUNTIME_TEST_PROCESS_SUITES"], let n = Int(text), n > 0 {
            return n
        }
        return max(3, ProcessInfo.processInfo.activeProcessorCount + 1)
    }

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(width: Int) { free = width }

    func enter() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
