import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HermesCore
import HermesTestSupport
import Testing

/// Models on demand through the built daemon, its front and real llama-servers, on a simulated gfx1151
/// whose GTT is sized by the test (so that exactly one model fits, or two).
@Suite(.serialized, .realProcesses) struct OnDemandCLITests {
    typealias Reply = HTTPReply

    /// One HTTP exchange (see `HTTPExchange`: its own thread, bounded only against a hang).
    static func http(_ method: String, _ url: String, body: String? = nil, timeout: Double = TestEnvironment.hangBound) async -> Reply {
        await HTTPExchange.send(method, url, body: body, timeout: timeout)
    }

    static func chat(_ model: String, maxTokens: Int = 4, stream: Bool = false) -> String {
        #"{"model":"\#(model)","messages":[{"role":"user","content":"Say hi"}],"max_tokens":\#(maxTokens),"stream":\#(stream)"#
            + (stream ? #","ignore_eos":true}"# : "}")
    }

    /// What the daemon estimates for an on-demand test profile (all layers on the "GPU", so GTT).
    static func need(context: Int = 1024, cacheRAM: Int = 0) throws -> UInt64 {
        var s = LlamaServerSettings()
        s.context = context
        s.slots = 1
        s.cacheRAM = cacheRAM
        return MemoryEstimate(model: try GGUFReader.modelInfo(path: try TestEnvironment.testModel()), settings: s).totalBytes
    }

    /// `cache_ram: 0` unless given: the GTT sums of these tests are about the models, and the box's
    /// MemAvailable caps GTT, so llama-server's 8 GiB default would make them depend on the machine.
    static func profile(port: Int, extra: String = "", cacheRAM: Int = 0) throws -> String {
        """
        kind: llama-server
        model: \(try TestEnvironment.testModel())
        port: \(port)
        context: 1024
        slots: 1
        threads: 1
        cache_ram: \(cacheRAM)
        load: on-demand
        health:
          startup_timeout: 300s
          interval: 1s
          generation_interval: 0
        \(extra)
        """
    }

    /// A sysfs tree with one Strix Halo APU: a 512 MiB carve-out and a GTT of `gtt` bytes, all free.
    static func apu(gtt: UInt64) throws -> URL {
        let sys = try TestEnvironment.temporaryDirectory("sysfs")
        let dev = sys.appendingPathComponent("class/drm/card0/device")
        try FileManager.default.createDirectory(at: dev, withIntermediateDirectories: true)
        for (file, value) in ["vendor": "0x1002", "device": "0x1586", "mem_info_vram_total": "536870912", "mem_info_vram_used": "0",
                              "mem_info_gtt_total": "\(gtt)", "mem_info_gtt_used": "0"] {
            try (value + "\n").write(to: dev.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        return sys
    }

    /// A daemon (`serve`) on `root`, reading the simulated GPU; stopped by `daemon stop` at the end.
    struct Daemon {
        let cli: CLIRunner
        let front: String
        let process: Process

        /// `runtime`: more of runtime.yaml (after the `front:` section).
        init(profiles: [String: String], gtt: UInt64, defaultProfile: String, runtime: String = "") async throws {
            let port = TestEnvironment.freePort()
            let root = try TestEnvironment.configRoot(profiles: profiles,
                                                      runtime: "front:\n  listen: 127.0.0.1:\(port)\n  default: \(defaultProfile)\n" + runtime)
            var cli = try CLIRunner(configRoot: root)
            cli.environment["HERMES_RUNTIME_SYSFS_ROOT"] = try OnDemandCLITests.apu(gtt: gtt).path
            self.cli = cli
            front = "http://127.0.0.1:\(port)"
            process = Process()
            process.executableURL = URL(fileURLWithPath: cli.binary)
            process.arguments = ["serve"]
            process.environment = cli.environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let front = self.front
            let up = await TestEnvironment.eventually { await OnDemandCLITests.http("GET", front + "/health", timeout: 2).status == 200 }
            #expect(up, "the daemon's front answers")
        }

        func stop() {
            cli.shutDown()
            if process.isRunning { process.terminate() }
        }

        func servers() async throws -> [String: [String: Any]] {
            let r = try await cli.run(["status", "--json"])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.output)")
            let list = json["servers"] as? [[String: Any]] ?? []
            return Dictionary(uniqueKeysWithValues: list.compactMap { s in (s["profile"] as? String).map { ($0, s) } })
        }

        func phase(_ profile: String) async throws -> String? { try await servers()[profile]?["phase"] as? String }

        func events() -> String {
            (try? String(contentsOf: cli.stateDirectory.appendingPathComponent("model-events.jsonl"), encoding: .utf8)) ?? ""
        }

        func metrics() async -> String { await OnDemandCLITests.http("GET", front + "/metrics").body }
    }

    @Test func aRequestLoadsItsModelAndTheNextModelEvictsTheIdleOne() async throws {
        let need = try Self.need()
        let d = try await Daemon(profiles: ["a": try Self.profile(port: TestEnvironment.freePort()),
                                            "b": try Self.profile(port: TestEnvironment.freePort())],
                                 gtt: need * 3 / 2, defaultProfile: "a")
        defer { d.stop() }
        #expect(try await d.phase("a") == "stopped")

        let first = await Self.http("POST", d.front + "/v1/chat/completions", body: Self.chat("a"))
        #expect(first.status == 200, "\(first.body)")
        #expect(first.headers["x-hermes-route"] == "a")
        #expect(first.headers["x-hermes-reason"] == "explicit")
        #expect(try await d.phase("a") == "ready")

        let second = await Self.http("POST", d.front + "/v1/chat/completions", body: Self.chat("b"))
        #expect(second.status == 200, "\(second.body)")
        #expect(second.headers["x-hermes-route"] == "b")
        #expect(try await d.phase("a") == "stopped", "a was evicted to make room for b")
        #expect(try await d.phase("b") == "ready")

        let events = d.events()
        #expect(events.contains(#""event":"unload","profile":"a","reason":"evicted_for=b""#), "\(events)")
        #expect(events.contains(#""event":"load","profile":"b","reason":"on_demand""#), "\(events)")
        let metrics = await d.metrics()
        #expect(metrics.contains(#"hermes_model_loads_total{profile="a",reason="on_demand"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"hermes_model_unloads_total{profile="a",reason="evicted"} 1"#), "\(metrics)")

        let models = await Self.http("GET", d.front + "/v1/models")
        let list = try #require((try JSONSerialization.jsonObject(with: Data(models.body.utf8)) as? [String: Any])?["data"] as? [[String: Any]])
        #expect(list.first { $0["id"] as? String == "b" }?["loaded"] as? Bool == true, "\(models.body)")
        #expect(list.first { $0["id"] as? String == "a" }?["loaded"] as? Bool == false)

        let status = try await d.cli.run(["status"])
        #expect(status.stdout.contains("LAST USE"), "\(status.stdout)")
        #expect(status.stdout.contains("on-demand"), "\(status.stdout)")

        let unload = try await d.cli.run(["unload", "b"])
        #expect(unload.status == 0, "\(unload.output)")
        #expect(try await d.phase("b") == "stopped")
        #expect(d.events().contains(#""event":"unload","profile":"b","reason":"manual""#))
    }

    @Test func aPinnedServerIsKeptAndTheOtherModelBurstsWithNoMemoryOrGets503() async throws {
        let need = try Self.need()
        let portA = TestEnvironment.freePort()
        let d = try await Daemon(profiles: [
            "a": try Self.profile(port: portA, extra: "pinned: true"),
            "b": try Self.profile(port: TestEnvironment.freePort(), extra: "burst: cloud"),
            "c": try Self.profile(port: TestEnvironment.freePort()),
            // The "cloud" is a real llama-server: a's own, reached as a remote.
            "cloud": "kind: openai\nbase_url: http://127.0.0.1:\(portA)/v1\n",
        ], gtt: need * 3 / 2, defaultProfile: "a")
        defer { d.stop() }
        #expect(await Self.http("POST", d.front + "/v1/chat/completions", body: Self.chat("a")).status == 200)

        let b = await Self.http("POST", d.front + "/v1/chat/completions", body: Self.chat("b"))
        #expect(b.status == 200, "\(b.body)")
        #expect(b.headers["x-hermes-route"] == "cloud")
        #expect(b.headers["x-hermes-reason"] == "no_memory")

        let c = await Self.http("POST", d.front + "/v1/chat/completions", body: Self.chat("c"))
        #expect(c.status == 503, "\(c.body)")
        #expect(c.body.contains("no_memory"), "\(c.body)")
        #expect(c.body.contains("of GTT") && c.body.contains("kept: a"), "the 503 carries the numbers: \(c.body)")

        // Streamed, the same refusal comes after the keep-alive comment as one SSE error event, then [DONE].
        let cs = await Self.http("POST", d.front + "/v1/chat/completions", body: Self.chat("c", stream: true))
        #expect(cs.status == 200 && cs.headers["content-type"]?.hasPrefix("text/event-stream") == true, "\(cs.body)")
        let lines = cs.body.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        #expect(lines.first == ": loading", "\(cs.body.prefix(200))")
        let error = lines.first { $0.hasPrefix("data: {") } ?? ""
        #expect(error.contains(#""error":{"#) && error.contains("no_memory") && error.contains("of GTT"), "\(cs.body)")
        #expect(lines.last == "data: [DONE]", "\(cs.body.suffix(200))")
        // On the Anthropic path the same refusal is Anthropic's `event: error`, with no [DONE].
        let ms = await Self.http("POST", d.front + "/v1/messages",
                                 body: #"{"model":"c","max_tokens":4,"stream":true,"messages":[{"role":"user","content":"Say hi"}]}"#)
        #expect(ms.status == 200, "\(ms.body)")
        #expect(ms.body.contains("event: error\ndata: {") && ms.body.contains(#""type":"error""#) && ms.body.contains("no_memory"), "\(ms.body)")
        #expect(!ms.body.contains("[DONE]"))
        #expect(try await d.phase("a") == "ready")
        #expect(d.events().contains(#""event":"refused","profile":"c","reason":"no_memory""#))
    }

    @Test func aServerWithAStreamInFlightIsNeverEvicted() async throws {
        let need = try Self.need()
        let d = try await Daemon(profiles: ["a": try Self.profile(port: TestEnvironment.freePort()),
                                            "c": try Self.profile(port: TestEnvironment.freePort())],
                                 gtt: need * 3 / 2, defaultProfile: "a")
        defer { d.stop() }
        #expect(await Self.http("POST", d.front + "/v1/chat/completions", body: Self.chat("a")).status == 200)

        let front = d.front
        let stream = Task { await Self.http("POST", front + "/v1/chat/completions", body: Self.chat("a", maxTokens: 400, stream: true)) }
        let busy = await TestEnvironment.eventually {
            let r = try? await d.cli.run(["status", "--json"])
            return r?.stdout.contains(#""in_flight" : 1"#) == true
        }
        #expect(busy, "the stream is in flight on a")
        let c = await Self.http("POST", d.front + "/v1/chat/completions", body: Self.chat("c"))
        #expect(c.status == 503, "\(c.body)")
        #expect(c.body.contains("kept: a"), "\(c.body)")
        let streamed = await stream.value
        #expect(streamed.status == 200)
        #expect(streamed.body.contains("data: [DONE]"), "the stream ran to its end")

        // Idle now: the same request evicts it.
        let again = await Self.http("POST", d.front + "/v1/chat/completions", body: Self.chat("c"))
        #expect(again.status == 200, "\(again.body)")
        #expect(again.headers["x-hermes-route"] == "c")
    }

    @Test func whileLoadingBurstSendsToTheBurstProfileAndWaitIsAnsweredLocally() async throws {
        let need = try Self.need()
        let portA = TestEnvironment.freePort()
        let d = try await Daemon(profiles: [
            "a": try Self.profile(port: portA),
            "b": try Self.profile(port: TestEnvironment.freePort(), extra: "burst: cloud\nwhile_loading: burst"),
            "cloud": "kind: openai\nbase_url: http://127.0.0.1:\(portA)/v1\n",
        ], gtt: need * 3, defaultProfile: "a")
        defer { d.stop() }
        // a waits (the default) and is answered locally by its own freshly loaded server.
        let a = await Self.http("POST", d.front + "/v1/chat/completions", body: Self.chat("a"))
        #expect(a.status == 200, "\(a.body)")
        #expect(a.headers["x-hermes-route"] == "a")

        let b = await Self.http("POST", d.front + "/v1/chat/completions", body: Self.chat("b"))
        #expect(b.status == 200, "\(b.body)")
        #expect(b.headers["x-hermes-route"] == "cloud")
        #expect(b.headers["x-hermes-reason"] == "loading")
        // The load goes on for the next request, which b then serves itself.
        #expect(await TestEnvironment.eventually { (try? await d.phase("b")) == "ready" })
        let next = await Self.http("POST", d.front + "/v1/chat/completions", body: Self.chat("b"))
        #expect(next.headers["x-hermes-route"] == "b")
        #expect(try await d.phase("a") == "ready", "both fit: nothing was evicted")
    }

    @Test func aStreamingRequestWaitingForALoadGetsKeepAliveCommentsThenTheStream() async throws {
        let need = try Self.need()
        let d = try await Daemon(profiles: ["a": try Self.profile(port: TestEnvironment.freePort())], gtt: need * 3, defaultProfile: "a")
        defer { d.stop() }
        #expect(try await d.phase("a") != "ready", "a is cold before the request")
        let r = await Self.http("POST", d.front + "/v1/chat/completions", body: Self.chat("a", maxTokens: 8, stream: true))
        #expect(r.status == 200, "\(r.body)")
        #expect(r.headers["content-type"]?.hasPrefix("text/event-stream") == true)
        let lines = r.body.split(separator: "\n", omittingEmptySubsequences: true)
        let firstComment = lines.firstIndex { $0 == ": loading" }
        let firstData = lines.firstIndex { $0.hasPrefix("data:") }
        #expect(firstComment != nil, "a keep-alive comment while the model loads: \(r.body.prefix(300))")
        #expect(firstData != nil && firstComment! < firstData!, "the comment comes before the first event")
        #expect(r.body.contains("chat.completion.chunk"), "the real stream follows: \(r.body.suffix(300))")
        #expect(lines.last == "data: [DONE]")
        #expect(try await d.phase("a") == "ready")
    }

    @Test func eightConcurrentFirstRequestsLoadOnceAndAnIdleServerIsUnloaded() async throws {
        let need = try Self.need()
        let d = try await Daemon(profiles: ["a": try Self.profile(port: TestEnvironment.freePort(), extra: "idle_unload: 2s")],
                                 gtt: need * 3 / 2, defaultProfile: "a")
        defer { d.stop() }
        let front = d.front
        let replies = await withTaskGroup(of: Reply.self) { group in
            for _ in 0..<8 { group.addTask { await Self.http("POST", front + "/v1/chat/completions", body: Self.chat("a")) } }
            var out: [Reply] = []
            for await r in group { out.append(r) }
            return out
        }
        #expect(replies.allSatisfy { $0.status == 200 && $0.headers["x-hermes-route"] == "a" }, "\(replies.map { "\($0.status) \($0.body.prefix(200))" })")
        let metrics = await d.metrics()
        #expect(metrics.contains(#"hermes_model_loads_total{profile="a",reason="on_demand"} 1"#), "\(metrics)")
        #expect(d.events().components(separatedBy: #""event":"load""#).count == 2, "one load: \(d.events())")

        // Idle past its 2 s: unloaded by the timer, and said so.
        #expect(await TestEnvironment.eventually { (try? await d.phase("a")) == "stopped" })
        #expect(d.events().contains(#""event":"unload","profile":"a","reason":"idle""#), "\(d.events())")
    }
}
