import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HermesTestSupport
import Testing

/// The daemon as one piece, through the built binary and the real llama-server: the front it serves,
/// its metrics and events, `reload` (and SIGHUP), the memory-fit refusal on the CPU and on a simulated
/// gfx1151, and `route --explain`.
@Suite(.serialized, .realProcesses) struct DaemonWiringCLITests {
    typealias Reply = HTTPReply

    /// One HTTP exchange (see `HTTPExchange`).
    func http(_ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:]) async -> Reply {
        await HTTPExchange.send(method, url, body: body, headers: headers)
    }

    func httpBlocking(_ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:]) -> Reply {
        HTTPExchange.sendBlocking(method, url, body: body, headers: headers)
    }

    func statusJSON(_ cli: CLIRunner) async throws -> [String: Any] {
        let r = try await cli.run(["status", "--json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.output)")
    }

    static let chat = #"{"messages":[{"role":"user","content":"Say hi, secret-word-zebra"}],"max_tokens":4}"#

    @Test func theDaemonServesTheFrontWithReceiptsMetricsAndEvents() async throws {
        let serverPort = TestEnvironment.freePort(), frontPort = TestEnvironment.freePort()
        let root = try TestEnvironment.configRoot(
            profiles: ["demo": try TestEnvironment.demoProfile(port: serverPort, context: 2048, slots: 2)],
            runtime: "front:\n  listen: 127.0.0.1:\(frontPort)\n  default: demo\n  aliases:\n    local: demo\n")
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }
        let started = try await cli.run(["start", "demo"])
        #expect(started.status == 0, "\(started.output)")

        let daemon = try await #require(try statusJSON(cli)["daemon"] as? [String: Any])
        #expect(daemon["front"] as? String == "http://127.0.0.1:\(frontPort)/v1")
        let text = try await cli.run(["status"])
        #expect(text.stdout.contains("front http://127.0.0.1:\(frontPort)/v1"), "\(text.output)")

        let front = "http://127.0.0.1:\(frontPort)"
        let health = await http("GET", front + "/health")
        #expect(health.status == 200)
        #expect(health.body.contains(#""demo":"ready""#), "\(health.body)")

        let answer = await http("POST", front + "/v1/chat/completions", body: Self.chat)
        #expect(answer.status == 200, "\(answer.body)")
        #expect(answer.headers["x-hermes-route"] == "demo")
        #expect(answer.headers["x-hermes-reason"] == "default")
        #expect(answer.headers["x-hermes-attempts"] == "demo:200")
        #expect(answer.body.contains("chat.completion"))

        let byAlias = await http("POST", front + "/v1/chat/completions",
                           body: #"{"model":"local","messages":[{"role":"user","content":"hi"}],"max_tokens":2}"#)
        #expect(byAlias.headers["x-hermes-route"] == "demo")
        #expect(byAlias.headers["x-hermes-reason"] == "explicit")

        let metrics = await http("GET", front + "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains(#"hermes_front_requests_total{profile="demo",reason="default",status="200"} 1"#), "\(metrics.body)")
        #expect(metrics.body.contains(#"hermes_front_requests_total{profile="demo",reason="explicit",status="200"} 1"#))

        // One event per request; the prompt as hash and length, never its text.
        let events = try String(contentsOf: cli.stateDirectory.appendingPathComponent("events.jsonl"), encoding: .utf8)
        let lines = events.split(separator: "\n")
        #expect(lines.count == 2, "\(events)")
        #expect(lines.first?.contains(#""profile":"demo""#) == true)
        #expect(lines.first?.contains(#""prompt_sha256":""#) == true)
        #expect(!events.contains("secret-word-zebra"))

        // A stopped local server with no burst profile: the front says so, OpenAI-shaped.
        #expect(try await cli.run(["stop", "demo"]).status == 0)
        let down = await http("POST", front + "/v1/chat/completions", body: Self.chat)
        #expect(down.status == 503, "\(down.body)")
        #expect(down.body.contains(#""error""#))
    }

    @Test func aFrontThatCannotListenDoesNotTakeTheServersDown() async throws {
        let (holder, taken) = try #require(LoopbackSocket.bound(backlog: 1))
        defer { close(holder) }
        let root = try TestEnvironment.configRoot(
            profiles: ["demo": try TestEnvironment.demoProfile(port: TestEnvironment.freePort())],
            runtime: "front:\n  listen: 127.0.0.1:\(taken)\n  default: demo\n")
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }
        let started = try await cli.run(["start", "demo"])
        #expect(started.status == 0, "\(started.output)")
        #expect(await TestEnvironment.eventually {
            ((try? await cli.run(["status"]).stdout) ?? "").contains("front not serving:")
        }, "status says the front is not serving")
        let servers = try await #require(try statusJSON(cli)["servers"] as? [[String: Any]])
        #expect(servers.first { $0["profile"] as? String == "demo" }?["phase"] as? String == "ready")
    }

    @Test func reloadRefusesABrokenConfigKeepsTheOldOneAndAppliesAGoodOne() async throws {
        let frontPort = TestEnvironment.freePort()
        let root = try TestEnvironment.configRoot(
            profiles: ["demo": try TestEnvironment.demoProfile(port: TestEnvironment.freePort(), context: 2048, slots: 2)],
            runtime: "front:\n  listen: 127.0.0.1:\(frontPort)\n  default: demo\n")
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }
        #expect(try await cli.run(["start", "demo"]).status == 0)
        let models = "http://127.0.0.1:\(frontPort)/v1/models"
        let runtimeFile = root.appendingPathComponent("runtime.yaml")

        // Requests in flight across both reloads (one streamed, one not): none may fail.
        let inFlight = DispatchGroup()
        nonisolated(unsafe) var replies: [Reply] = []
        let lock = NSLock()
        for stream in [false, true] {
            inFlight.enter()
            Thread.detachNewThread {
                let r = self.httpBlocking("POST", "http://127.0.0.1:\(frontPort)/v1/chat/completions",
                                  body: #"{"messages":[{"role":"user","content":"Count from one to forty in words."}],"max_tokens":96,"stream":\#(stream)}"#)
                lock.withLock { replies.append(r) }
                inFlight.leave()
            }
        }
        try await Task.sleep(for: .milliseconds(300))

        try "front:\n  listen: 127.0.0.1:\(frontPort)\n  defualt: demo\n".write(to: runtimeFile, atomically: true, encoding: .utf8)
        let refused = try await cli.run(["reload"])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.stdout.contains("runtime.yaml:3:3"), "\(refused.output)")
        #expect(refused.stdout.contains("did you mean 'default'"), "\(refused.output)")
        #expect(refused.stdout.contains("reload refused: the daemon keeps its old config"))
        await #expect(http("POST", "http://127.0.0.1:\(frontPort)/v1/chat/completions", body: Self.chat).headers["x-hermes-route"] == "demo",
                "the old config still routes")

        try "front:\n  listen: 127.0.0.1:\(frontPort)\n  default: demo\n  aliases:\n    fast: demo\n"
            .write(to: runtimeFile, atomically: true, encoding: .utf8)
        let applied = try await cli.run(["reload"])
        #expect(applied.status == 0, "\(applied.output)")
        #expect(applied.stdout.contains("reloaded: 1 profile(s): demo"))
        await #expect(http("GET", models).body.contains(#""id":"fast""#))
        #expect(await TestEnvironment.eventually { lock.withLock { replies.count == 2 } })
        #expect(replies.count == 2 && replies.allSatisfy { $0.status == 200 }, "\(replies.map { "\($0.status) \($0.body.prefix(200))" })")
        #expect(replies.contains { $0.body.contains("data: [DONE]") }, "the streamed answer finished")

        // SIGHUP does the same.
        try "front:\n  listen: 127.0.0.1:\(frontPort)\n  default: demo\n  aliases:\n    quick: demo\n"
            .write(to: runtimeFile, atomically: true, encoding: .utf8)
        let daemon = try await #require(try statusJSON(cli)["daemon"] as? [String: Any])
        let pid = try #require((daemon["pid"] as? NSNumber)?.int32Value)
        kill(pid, SIGHUP)
        #expect(await TestEnvironment.eventually { await http("GET", models).body.contains(#""id":"quick""#) })
        #expect(TestEnvironment.isAlive(pid), "SIGHUP reloads, it does not stop the daemon")
    }

    @Test func aModelTooBigForSystemMemoryIsRefusedWithTheNumbers() async throws {
        // 16M tokens (the most a profile may ask) of f16 KV cache for gemma 3 270M: ~288 GiB by our estimate,
        // and still ~48 GiB for its 3 global-attention layers alone (llama.cpp keeps only a window for the
        // other 15): more than a test machine of this kind (24 GiB) has, whichever way it is counted.
        // The simulated-APU test below judges a fixed pool, independent of the machine.
        let root = try TestEnvironment.configRoot(profiles: [
            "huge": try TestEnvironment.demoProfile(port: TestEnvironment.freePort(), context: 16_777_216),
        ])
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }
        let r = try await cli.run(["start", "huge"])
        #expect(r.status != 0)
        #expect(r.output.contains("the model does not fit: needs"), "\(r.output)")
        #expect(r.output.contains("system memory has"), "\(r.output)")
        #expect(r.output.contains("a context of at most"), "the hint names a context that fits: \(r.output)")
        #expect(r.output.contains("--force"), "\(r.output)")
        let servers = try await #require(try statusJSON(cli)["servers"] as? [[String: Any]])
        #expect(servers.allSatisfy { $0["pid"] == nil }, "nothing was started: \(servers)")
    }

    @Test func onASimulatedGfx1151TheFitIsJudgedAgainstGTT() async throws {
        let script = TestEnvironment.repositoryRoot.appendingPathComponent("scripts/gpu/simulate-gfx1151.sh").path
        // A 512 MiB carve-out and a nearly full GTT: the model (all layers on the GPU) goes to GTT and
        // does not fit there, although the machine's RAM has room.
        let root = try TestEnvironment.configRoot(profiles: [
            "apu": """
            kind: llama-server
            model: \(try TestEnvironment.testModel())
            port: \(TestEnvironment.freePort())
            context: 8192
            gpu_layers: all
            """,
        ])
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }
        let r = try await cli.run(["start", "apu"], launcher: [script, "--vram-total", "512M", "--vram-used", "96M",
                                                        "--gtt-total", "2G", "--gtt-used", "1900M", "--"], timeout: 60)
        #expect(r.status != 0, "\(r.output)")
        #expect(r.output.contains("the model does not fit"), "\(r.output)")
        #expect(r.output.contains("GTT"), "judged against GTT, not the 512 MiB carve-out: \(r.output)")
        #expect(r.output.contains("--force"))
    }

    @Test func statusAndGPUNameTheGPUMemoryOfEachServer() async throws {
        // A simulated gfx1151 sysfs tree on disk; the daemon reads it (HERMES_RUNTIME_SYSFS_ROOT), and
        // once our server runs, the tree gets a KFD process entry for its pid, as amdgpu would add.
        let script = TestEnvironment.repositoryRoot.appendingPathComponent("scripts/gpu/simulate-gfx1151.sh").path
        let tree = try TestEnvironment.temporaryDirectory("sysfs")
        let template = try TestEnvironment.temporaryDirectory("sysfs-template")
        let build = Process()
        build.executableURL = URL(fileURLWithPath: script)
        build.arguments = ["--tree-only", tree.path]
        try build.run()
        build.waitUntilExit()
        let build2 = Process()
        build2.executableURL = URL(fileURLWithPath: script)
        build2.arguments = ["--process", "4242:3G", "--tree-only", template.path]
        try build2.run()
        build2.waitUntilExit()
        #expect(build.terminationStatus == 0 && build2.terminationStatus == 0)

        let root = try TestEnvironment.configRoot(profiles: ["demo": try TestEnvironment.demoProfile(port: TestEnvironment.freePort())])
        var cli = try CLIRunner(configRoot: root)
        cli.environment["HERMES_RUNTIME_SYSFS_ROOT"] = tree.path
        defer { cli.shutDown() }
        #expect(try await cli.run(["start", "demo"]).status == 0)
        let servers = try await #require(try statusJSON(cli)["servers"] as? [[String: Any]])
        let pid = try #require((servers.first { $0["profile"] as? String == "demo" }?["pid"] as? NSNumber)?.int32Value)

        let proc = "class/kfd/kfd/proc"
        try FileManager.default.copyItem(at: template.appendingPathComponent("\(proc)/4242"),
                                         to: tree.appendingPathComponent("\(proc)/\(pid)"))
        #expect(await TestEnvironment.eventually {
            let s = (try? await statusJSON(cli)["servers"] as? [[String: Any]]) ?? []
            return (s.first { $0["profile"] as? String == "demo" }?["gpu_bytes"] as? NSNumber)?.int64Value == 3 << 30
        }, "status shows the server's 3 GiB of GPU memory")
        let table = try await cli.run(["status"])
        #expect(table.stdout.contains("3.0 GiB"), "\(table.stdout)")

        let gpu = try await cli.run(["gpu", "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(gpu.stdout.utf8)) as? [String: Any], "\(gpu.output)")
        let processes = report["processes"] as? [[String: Any]] ?? []
        #expect(processes.contains { ($0["pid"] as? NSNumber)?.int32Value == pid && $0["profile"] as? String == "demo" }, "\(processes)")
    }

    @Test func routeExplainsWhereARequestWouldGoWithoutSendingIt() async throws {
        let root = try TestEnvironment.configRoot(
            profiles: [
                "demo": try TestEnvironment.demoProfile(port: TestEnvironment.freePort(), context: 4096, extra: "burst: cloud"),
                "cloud": "kind: openai\nbase_url: http://127.0.0.1:9/v1\nmodel: big\ncontext: 131072\n",
            ],
            runtime: """
            front:
              listen: 127.0.0.1:\(TestEnvironment.freePort())
              default: demo
              routes:
                - name: cron-jobs
                  match: { source_kind: cron }
                  profile: cloud
            """)
        let cli = try CLIRunner(configRoot: root)
        let request = root.appendingPathComponent("request.json")
        try #"{"messages":[{"role":"user","content":"tidy the logs"}],"max_tokens":65536}"#.write(to: request, atomically: true, encoding: .utf8)

        let plain = try await cli.run(["route", "--explain", request.path])
        #expect(plain.status == 0, "\(plain.output)")
        #expect(plain.stdout.contains("daemon not running"))
        #expect(plain.stdout.contains("=> demo (reason default)"), "\(plain.stdout)")
        #expect(plain.stdout.contains("max_tokens clamped to"), "a huge max_tokens does not push it out: \(plain.stdout)")

        let cron = try await cli.run(["route", "--explain", "-H", "X-Hermes-Source: cron", request.path])
        #expect(cron.stdout.contains("route cron-jobs matched"), "\(cron.stdout)")
        #expect(cron.stdout.contains("=> cloud (reason route:cron-jobs)"), "\(cron.stdout)")

        let big = root.appendingPathComponent("big.json")
        let long = String(repeating: "the local box keeps private work cheap. ", count: 1000)
        try #"{"messages":[{"role":"user","content":"\#(long)"}]}"#.write(to: big, atomically: true, encoding: .utf8)
        let json = try await cli.run(["route", "--json", big.path])
        let out = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.output)")
        #expect(out["target"] as? String == "cloud")
        #expect(out["reason"] as? String == "context")
    }
}
