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

    /// Only a main over RPC workers whose generation got no answer at all is restarted at once; an error
    /// status, or a server without workers, goes through the judge's count.
    @Test(arguments: [(true, true, true), (true, false, false), (false, true, false), (false, false, false)])
    func aStuckGenerationOnAMainWithWorkersRestartsAtOnce(noAnswer: Bool, rpc: Bool, atOnce: Bool) {
        #expect(HealthJudge.restartsAtOnce(generationGotNoAnswer: noAnswer, usesRPCWorkers: rpc) == atOnce)
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

    @Test func oneSlowProbeChangesNothingFailuresInARowDo() {
        var j = HealthJudge(failures: 3)
        #expect(j.probeFailed("timeout") == .degraded(consecutiveFailures: 1, lastReason: "timeout"))
        #expect(j.probeSucceeded() == .healthy)
        #expect(j.probeFailed("health 503") == .degraded(consecutiveFailures: 1, lastReason: "health 503"))
        #expect(j.probeFailed("generation answered 500") == .degraded(consecutiveFailures: 2, lastReason: "generation answered 500"))
        #expect(j.probeFailed("timeout after 3 s") == .unhealthy(consecutiveFailures: 3, lastReason: "timeout after 3 s"))
        #expect(j.probeFailed("timeout after 3 s") == .unhealthy(consecutiveFailures: 4, lastReason: "timeout after 3 s"))
        #expect(j.probeFailed("timeout after 3 s") == .unhealthy(consecutiveFailures: 5, lastReason: "timeout after 3 s"))
        #expect(j.probeFailed("timeout after 3 s") == .restart(reason: "6 failed probes in a row, last: timeout after 3 s"))
    }

    @Test func judgeWithOneFailureAllowedIsUnhealthyAtOnce() {
        var j = HealthJudge(failures: 1)
        #expect(j.probeFailed("health 503") == .unhealthy(consecutiveFailures: 1, lastReason: "health 503"))
        #expect(j.probeFailed("health 503") == .restart(reason: "2 failed probes in a row, last: health 503"))
    }

    @Test func restoredTrackerKeepsCounting() {
        var t = RestartTracker(settings: RestartSettings(), restoring: 4)
        #expect(t.total == 4)
        guard case .restart = t.failed(at: 0, cause: "exit 1") else {
            Issue.record("expected a restart")
            return
        }
        #expect(t.total == 5)
    }

    @Test func serverEnvironmentKeepsNoKeys() {
        let daemon = ["PATH": "/bin", "HOME": "/home/u", "LANG": "C.UTF-8", "LC_ALL": "C", "HERMES_FRONT_KEY": "s1",
                      "OPENAI_API_KEY": "s2", "HIP_VISIBLE_DEVICES": "0", "HSA_OVERRIDE_GFX_VERSION": "11.5.1",
                      "HIP_AUTH_TOKEN": "s3", "SSH_AUTH_SOCK": "/tmp/agent", "AWS_SECRET_ACCESS_KEY": "s4"]
        let env = ServerEnvironment.build(inherited: daemon, own: ["ROCBLAS_LAYER": "0", "HIP_VISIBLE_DEVICES": "1"])
        #expect(env == ["PATH": "/bin", "HOME": "/home/u", "LANG": "C.UTF-8", "LC_ALL": "C", "HSA_OVERRIDE_GFX_VERSION": "11.5.1",
                        "HIP_VISIBLE_DEVICES": "1", "ROCBLAS_LAYER": "0"])
        #expect(ServerEnvironment.build(inherited: [:], own: [:]) == ["PATH": "/usr/local/bin:/usr/bin:/bin"])
    }

    @Test func hintsFromTheServerLog() {
        #expect(StartFailureHint.hint(forLog: ["error: invalid argument: --mlock"])?.contains("rejected a flag") == true)
        #expect(StartFailureHint.hint(forLog: ["couldn't bind HTTP server socket"])?.contains("port is in use") == true)
        #expect(StartFailureHint.hint(forLog: ["ggml_backend_cpu_buffer_type_alloc_buffer: failed to allocate buffer"])?.contains("out of memory") == true)
        #expect(StartFailureHint.hint(forLog: ["all good"]) == nil)
    }
}

@Suite struct WorkerRespawnPolicyTests {
    @Test func crashesRespawnFastThenSlowerThenGiveUp() {
        var p = WorkerRespawnPolicy()
        #expect(p.workerEnded(.signal(9), at: 0, stopping: false) == .respawn(after: 0.1))
        #expect(p.workerEnded(.code(1), at: 1, stopping: false) == .respawn(after: 0.5))
        for t in 2...9 { _ = p.workerEnded(.signal(11), at: Double(t), stopping: false) }
        #expect(p.workerEnded(.signal(6), at: 10, stopping: false) == .exit(code: 1, reason: "the daemon crashed 11 times within 60 s"))
    }

    @Test func oldCrashesAreForgotten() {
        var p = WorkerRespawnPolicy()
        _ = p.workerEnded(.signal(9), at: 0, stopping: false)
        _ = p.workerEnded(.signal(9), at: 1, stopping: false)
        #expect(p.workerEnded(.signal(9), at: 100, stopping: false) == .respawn(after: 0.1))
    }

    @Test func purposefulEndsAreNotCrashes() {
        var p = WorkerRespawnPolicy()
        #expect(p.workerEnded(.code(0), at: 0, stopping: false) == .exit(code: 0, reason: "the daemon stopped"))
        #expect(p.workerEnded(.code(78), at: 0, stopping: false) == .exit(code: 78, reason: "the daemon could not start"))
        #expect(p.workerEnded(.code(75), at: 0, stopping: false) == .respawn(after: 0))
        #expect(p.workerEnded(.signal(9), at: 0, stopping: true) == .exit(code: 137, reason: "stopped"))
        #expect(p.workerEnded(.code(0), at: 0, stopping: true) == .exit(code: 0, reason: "stopped"))
    }
}
