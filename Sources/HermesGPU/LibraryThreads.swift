import Foundation

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
