import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HermesTestSupport
import Testing

/// The supervisor through the built `hermes-runtime` binary, against the real llama-server and model.
@Suite(.serialized, .realProcesses) struct SupervisorCLITests {
    typealias Status = CLIStatus
    func status(_ cli: CLIRunner) async throws -> Status { try await CLIStatus.read(cli) }
    func server(_ cli: CLIRunner, _ name: String) async throws -> Status.Server { try await CLIStatus.server(cli, name) }

    func chat(port: Int) async throws -> (Int, String) {
        let r = await HTTPExchange.send("POST", "http://127.0.0.1:\(port)/v1/chat/completions",
                                        body: #"{"messages":[{"role":"user","content":"Say hi"}],"max_tokens":4}"#)
        return (r.status, r.body)
    }

    @Test func startChatStatusLogsStop() async throws {
        let port = TestEnvironment.freePort()
        let root = try TestEnvironment.configRoot(profiles: ["demo": try TestEnvironment.demoProfile(port: port, context: 2048, slots: 2)])
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }

        let started = try await cli.run(["start", "demo"])
        print(started.output)
        #expect(started.status == 0, "\(started.output)")
        #expect(started.stdout.contains("starting the daemon"))
        #expect(started.stdout.contains("demo: ready on 127.0.0.1:\(port), 2 slot(s), 1024 tokens of context per slot"))

        let s = try await server(cli, "demo")
        #expect(s.phase == "ready")
        #expect(s.slotsTotal == 2)
        #expect(s.contextPerSlot == 1024)
        let pid = try #require(s.pid)
        #expect(TestEnvironment.isAlive(pid))

        let (code, body) = try await chat(port: port)
        #expect(code == 200, "\(body)")
        #expect(body.contains("chat.completion"))

        let logs = try await cli.run(["logs", "demo", "-n", "400"])
        #expect(logs.stdout.contains("starting:"))
        #expect(logs.stdout.contains("--port \(port)"))
        #expect(logs.stdout.contains("ready on 127.0.0.1:\(port)"))

        let second = try await cli.run(["serve"])
        #expect(second.status != 0)
        #expect(second.output.contains("already running for this config root"))

        let stopped = try await cli.run(["stop", "demo"])
        #expect(stopped.status == 0, "\(stopped.output)")
        #expect(stopped.stdout.contains("demo: stopped"))
        #expect(await TestEnvironment.eventually { !TestEnvironment.isAlive(pid) })
        await #expect(try server(cli, "demo").phase == "stopped")
    }

    @Test func crashedServerIsRestartedAndDaemonStopLeavesNoServer() async throws {
        let port = TestEnvironment.freePort()
        let root = try TestEnvironment.configRoot(profiles: ["demo": try TestEnvironment.demoProfile(port: port)])
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }
        #expect(try await cli.run(["start", "demo"]).status == 0)
        let first = try await #require(try server(cli, "demo").pid)

        kill(first, SIGKILL)
        var after: Status.Server?
        #expect(await TestEnvironment.eventually {
            after = try? await server(cli, "demo")
            return after?.phase == "ready" && after?.pid != nil && after?.pid != first
        }, "\(String(describing: after))")
        #expect(after?.restarts == 1)
        #expect(after?.lastError == nil)
        await #expect(try chat(port: port).0 == 200)

        // A stop on purpose leaves nothing: not the server, not its keeper, not the daemon or its guard.
        let daemonPid = try await #require(try status(cli).daemon?.pid)
        let serverPid = try #require(after?.pid)
        let keeperPid = try #require(ProcessParent.of(serverPid))
        let stopped = try await cli.run(["daemon", "stop"])
        #expect(stopped.status == 0, "\(stopped.output)")
        #expect(stopped.stdout.contains("daemon stopped"))
        for pid in [serverPid, keeperPid, daemonPid] { #expect(!TestEnvironment.isAlive(pid), "pid \(pid) outlived daemon stop") }
    }

    @Test func badProfilesFailFastWithTheirOwnMessage() async throws {
        // Hold a port with a listener of our own.
        let (holder, busy) = try #require(LoopbackSocket.bound(backlog: 1))
        defer { close(holder) }

        let root = try TestEnvironment.configRoot(profiles: [
            "flags": try TestEnvironment.demoProfile(port: TestEnvironment.freePort(), extra: "args: [\"--slots\", \"4\", \"--mlock\"]"),
            "nomodel": "kind: llama-server\nmodel: /nonexistent/model.gguf\nport: \(TestEnvironment.freePort())\n",
            "busy": try TestEnvironment.demoProfile(port: busy),
        ])
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }

        let flags = try await cli.run(["start", "flags"])
        #expect(flags.status != 0)
        #expect(flags.output.contains("--slots takes no value, but '4' follows it"))
        #expect(flags.output.contains("-np/--parallel"))
        #expect(flags.output.contains("--mlock is not accepted"))

        let nomodel = try await cli.run(["start", "nomodel"])
        #expect(nomodel.status != 0)
        #expect(nomodel.output.contains("model file /nonexistent/model.gguf does not exist"))

        let portBusy = try await cli.run(["start", "busy"])
        #expect(portBusy.status != 0)
        #expect(portBusy.output.contains("port \(busy) on 127.0.0.1 is in use"))
        #expect(portBusy.output.contains("by pid \(getpid())"))

        // Nothing was left running by any of them.
        let s = try await status(cli)
        #expect(s.servers.allSatisfy { $0.pid == nil }, "\(s.servers)")
    }

    @Test func dryRunShowsTheCommandForTheRealBinary() async throws {
        let port = TestEnvironment.freePort()
        let root = try TestEnvironment.configRoot(profiles: [
            "gpu": try TestEnvironment.demoProfile(port: port, context: 8192, slots: 4, extra: "mlock: true\nenv:\n  HIP_VISIBLE_DEVICES: \"0\"\n")
        ])
        let cli = try CLIRunner(configRoot: root)
        let r = try await cli.run(["start", "gpu", "--dry-run"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("export HIP_VISIBLE_DEVICES=0"))
        #expect(r.stdout.contains("-c 8192 -t 1 -np 4 -ngl 0 --load-mode mlock"))
        #expect(!r.stdout.contains("--slots"))
        #expect(!r.stdout.contains("--mlock"))
        #expect(r.stdout.contains("current (--load-mode)"))
    }

    @Test func configValidateRejectsABrokenFileWithFileLineKey() async throws {
        let root = try TestEnvironment.configRoot(profiles: ["bad": "kind: llama-server\nmodel: /m.gguf\nport: 8090\nmlok: true\n"])
        let cli = try CLIRunner(configRoot: root)
        let r = try await cli.run(["config", "validate"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("runtimes/bad.yaml:4:1: error: unknown key 'mlok' for a llama-server profile (did you mean 'mlock'?) [key: mlok]"))
        let shipped = try await CLIRunner(configRoot: TestEnvironment.repositoryRoot).run(["config", "validate"])
        #expect(shipped.status == 0, "\(shipped.output)")
    }

    @Test func statusWithoutADaemonSaysSo() async throws {
        let root = try TestEnvironment.configRoot(profiles: ["demo": try TestEnvironment.demoProfile(port: TestEnvironment.freePort())])
        let r = try await CLIRunner(configRoot: root).run(["status"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("daemon not running"))
        #expect(r.stdout.contains("demo"))
        #expect(r.stdout.contains("stopped"))
    }
}

@Suite(.serialized, .realProcesses) struct WedgedServerTests {
    /// A server that stops answering (SIGSTOP: a real hang, produced on demand) is killed and restarted.
    @Test func hungServerIsRestarted() async throws {
        let port = TestEnvironment.freePort()
        let profile = try TestEnvironment.demoProfile(port: port)
            .replacingOccurrences(of: "  interval: 1s", with: "  interval: 500ms\n  timeout: 500ms\n  failures: 2")
        let root = try TestEnvironment.configRoot(profiles: ["demo": profile])
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }
        #expect(try await cli.run(["start", "demo"]).status == 0)
        let status = { () async throws -> SupervisorCLITests.Status.Server in try await SupervisorCLITests().server(cli, "demo") }
        let first = try #require(try await status().pid)
        kill(first, SIGSTOP)
        var after: SupervisorCLITests.Status.Server?
        #expect(await TestEnvironment.eventually {
            after = try? await status()
            return after?.phase == "ready" && after?.pid != nil && after?.pid != first
        }, "\(String(describing: after))")
        #expect(after?.restarts == 1)
        #expect(!TestEnvironment.isAlive(first))
        let log = try await cli.run(["logs", "demo", "-n", "1000"]).stdout
        // failures: 2 make it unhealthy, twice that many restart it.
        #expect(log.contains("wedged: 4 failed probes in a row, last: health check got no answer"))
    }

    /// One slow probe changes nothing; `health.failures` (3) in a row make the server unhealthy, and it
    /// is only restarted at twice that many.
    @Test func oneSlowProbeIsAHiccupThreeAreUnhealthy() async throws {
        let port = TestEnvironment.freePort()
        let profile = try TestEnvironment.demoProfile(port: port)
            .replacingOccurrences(of: "  interval: 1s", with: "  interval: 3s\n  timeout: 1s\n  failures: 3")
        let root = try TestEnvironment.configRoot(profiles: ["demo": profile])
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }
        #expect(try await cli.run(["start", "demo"]).status == 0)
        let status = { () async throws -> SupervisorCLITests.Status.Server in try await SupervisorCLITests().server(cli, "demo") }
        let pid = try #require(try await status().pid)
        let logFile = cli.stateDirectory.appendingPathComponent("logs/demo.log")
        let log: @Sendable () -> String = { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

        // Pauses of 2 s, probes every 3 s with a 1 s timeout: a probe that starts in the first second of
        // a pause fails; the next starts 3 s later, after the pause even if the test's sleep overshoots
        // by most of a second, and the 5 s between pauses always hold a whole probe that succeeds. So
        // failures never come two in a row, and 1 s leaves room for a probe that is only slow on a
        // loaded box.
        // The pause is timed on a thread of its own: a test task's sleep can overshoot by seconds while it
        // waits for a turn on the pool, and a pause of 4 s holds two probes.
        var sawOne = false
        for _ in 0..<20 where !sawOne {
            await TestEnvironment.onThread {
                kill(pid, SIGSTOP)
                Thread.sleep(forTimeInterval: 2)
                kill(pid, SIGCONT)
            }
            try await Task.sleep(for: .milliseconds(5000))
            sawOne = log().contains("probe failed (1 in a row, 3 make it unhealthy)")
        }
        #expect(sawOne, "no probe fell into the pauses")
        #expect(try await status().phase == "ready")
        #expect(!log().contains("in a row):"))

        // A longer hang: three failures in a row make it unhealthy (six would restart it). The line is
        // written as the phase turns unhealthy, so the server is let go at once: asking `status` while
        // it stays stopped could take long enough on a loaded box for three more probes to fail.
        // Let go from the watching thread itself, the moment the line is there: from the test's task it
        // could come seconds later on a loaded box (the task waits for a turn on the pool), long enough
        // for three more probes to fail and restart it.
        kill(pid, SIGSTOP)
        let third = await TestEnvironment.firstTime {
            guard log().contains("probe failed (3 in a row):") else { return false }
            kill(pid, SIGCONT)
            return true
        }
        kill(pid, SIGCONT)
        #expect(third != nil, "three failed probes in a row were never logged")
        #expect(await TestEnvironment.eventually { (try? await status().phase) == "ready" })
        let after = try await status()
        #expect(after.pid == pid)
        #expect(after.restarts == 0)
        #expect(!log().contains("wedged"))
    }
}

/// The parent pid of a process (its keeper, for a llama-server).
enum ProcessParent {
    static func of(_ pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }
}
