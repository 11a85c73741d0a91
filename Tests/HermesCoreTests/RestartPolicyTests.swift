import Testing

@testable import HermesCore

@Suite struct RestartPolicyTests {
    func tracker(_ backoff: [Double] = [1, 5, 15, 60], max: Int = 3, window: Double = 600) -> RestartTracker {
        var s = RestartSettings()
        s.backoff = backoff
        s.maxRestarts = max
        s.window = window
        return RestartTracker(settings: s)
    }

    @Test func backsOffThenGivesUp() {
        var t = tracker()
        #expect(t.failed(at: 0, cause: "exit 1") == .restart(after: 1, attempt: 1))
        #expect(t.failed(at: 2, cause: "exit 1") == .restart(after: 5, attempt: 2))
        #expect(t.failed(at: 8, cause: "exit 1") == .restart(after: 15, attempt: 3))
        guard case .giveUp(let reason) = t.failed(at: 30, cause: "killed by signal 9") else {
            Issue.record("expected give up")
            return
        }
        #expect(reason.contains("killed by signal 9"))
        #expect(reason.contains("3 restarts within 600 s"))
        #expect(t.total == 3)
    }

    @Test func lastBackoffRepeats() {
        var t = tracker([2], max: 10)
        #expect(t.failed(at: 0, cause: "x") == .restart(after: 2, attempt: 1))
        #expect(t.failed(at: 1, cause: "x") == .restart(after: 2, attempt: 2))
    }

    @Test func aServerUpForAWindowEarnsItsBudgetBack() {
        var t = tracker(max: 2, window: 100)
        _ = t.failed(at: 0, cause: "x")
        _ = t.failed(at: 1, cause: "x")
        t.ready(at: 10)
        // Up for 100 s: the old restarts no longer count.
        #expect(t.failed(at: 110, cause: "x") == .restart(after: 1, attempt: 1))
    }

    @Test func oldRestartsLeaveTheWindow() {
        var t = tracker(max: 2, window: 50)
        _ = t.failed(at: 0, cause: "x")
        _ = t.failed(at: 10, cause: "x")
        #expect(t.failed(at: 55, cause: "x") == .restart(after: 5, attempt: 2))
    }

    @Test func disabledRestartGivesUpAtOnce() {
        var s = RestartSettings()
        s.enabled = false
        var t = RestartTracker(settings: s)
        guard case .giveUp(let reason) = t.failed(at: 0, cause: "exit 2") else {
            Issue.record("expected give up")
            return
        }
        #expect(reason.contains("disabled"))
    }

    @Test func judgeRestartsAfterConsecutiveFailuresOnly() {
        var j = HealthJudge(failures: 3)
        #expect(j.probeFailed("timeout") == .unhealthy(consecutiveFailures: 1, lastReason: "timeout"))
        #expect(j.probeSucceeded() == .healthy)
        #expect(j.probeFailed("health 503") == .unhealthy(consecutiveFailures: 1, lastReason: "health 503"))
        #expect(j.probeFailed("generation answered 500") == .unhealthy(consecutiveFailures: 2, lastReason: "generation answered 500"))
        #expect(j.probeFailed("timeout after 3 s") == .restart(reason: "3 failed probes in a row, last: timeout after 3 s"))
    }

    @Test func hintsFromTheServerLog() {
        #expect(StartFailureHint.hint(forLog: ["error: invalid argument: --mlock"])?.contains("rejected a flag") == true)
        #expect(StartFailureHint.hint(forLog: ["couldn't bind HTTP server socket"])?.contains("port is in use") == true)
        #expect(StartFailureHint.hint(forLog: ["ggml_backend_cpu_buffer_type_alloc_buffer: failed to allocate buffer"])?.contains("out of memory") == true)
        #expect(StartFailureHint.hint(forLog: ["all good"]) == nil)
    }
}
