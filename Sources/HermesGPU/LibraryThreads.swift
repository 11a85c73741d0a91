import Foundation

/// One OS thread that runs submitted jobs in order: where every librocm_smi call runs. Not a dispatch
/// queue: the global dispatch pool has as many threads as cores, and when other code blocks them a
/// queued job (or a timer) can wait for seconds; a probe must not depend on that.
final class DedicatedThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    init(name: String) {
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.start()
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
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

/// Fires actions at their deadlines from its own OS thread, so a timeout fires even when the dispatch
/// pool and the concurrency pool are busy.
final class Watchdog: @unchecked Sendable {
    private let condition = NSCondition()
    private var entries: [UInt64: (deadline: Date, action: @Sendable () -> Void)] = [:]
    private var nextID: UInt64 = 0
    /// When the thread will next look: arming a later deadline needs no wake-up, so a steady stream of
    /// probes (each armed, then disarmed) costs the thread one wake-up per timeout period, not per probe.
    private var wakeUp = Date.distantFuture

    init(name: String) {
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.start()
    }

    /// Runs `action` after `delay` unless ``disarm(_:)`` comes first; returns the id to disarm with.
    func arm(after delay: Duration, _ action: @escaping @Sendable () -> Void) -> UInt64 {
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        condition.lock()
        defer { condition.unlock() }
        nextID &+= 1
        let deadline = Date(timeIntervalSinceNow: seconds)
        entries[nextID] = (deadline, action)
        if deadline < wakeUp { condition.signal() }
        return nextID
    }

    func disarm(_ id: UInt64) {
        condition.lock()
        entries[id] = nil
        condition.unlock()
    }

    private func loop() {
        condition.lock()
        while true {
            let now = Date()
            let due = entries.filter { $0.value.deadline <= now }
            if !due.isEmpty {
                for id in due.keys { entries[id] = nil }
                wakeUp = .distantPast  // busy running actions: arm() must wake the loop afterwards
                condition.unlock()
                for entry in due.values { entry.action() }
                condition.lock()
                continue
            }
            if let next = entries.values.map(\.deadline).min() {
                wakeUp = next
                _ = condition.wait(until: next)
            } else {
                wakeUp = .distantFuture
                condition.wait()
            }
        }
    }
}
