import Foundation

/// One OS thread that lives as long as the process and runs submitted jobs in order: where every
/// librocm_smi call runs, and where every child process is forked. Not a dispatch queue: the global
/// dispatch pool has as many threads as cores, and when other code blocks them a queued job (or a timer)
/// can wait for seconds; a probe must not depend on that. And a parent-death signal fires when the
/// THREAD that forked a child exits: a thread that is never retired keeps its children alive.
public final class DedicatedThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    public init(name: String) {
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.start()
    }

    public func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
