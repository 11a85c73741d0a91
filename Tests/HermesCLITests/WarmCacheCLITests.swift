import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HermesCore
import HermesTestSupport
import Testing

/// Warm prompt caches (issue 17) with real llama-servers and the test model (gemma 3 270M, a
/// sliding-window model).
@Suite(.serialized, .realProcesses) struct WarmCacheCLITests {
    typealias Reply = OnDemandCLITests.Reply

    /// A system prompt of a few hundred tokens, different per conversation.
    static func system(_ topic: String) -> String {
        (0..<40).map { "Rule \($0) about \(topic): answer in one short line and never repeat the question." }.joined(separator: " ")
    }

    static func body(_ messages: [(String, String)], slot: Int? = nil) -> String {
        let list = messages.map { #"{"role":"\#($0.0)","content":"\#($0.1)"}"# }.joined(separator: ",")
        return #"{"model":"w",\#(slot.map { "\"id_slot\":\($0)," } ?? "")"messages":[\#(list)],"max_tokens":4,"temperature":0}"#
    }

    static func json(_ r: Reply) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any], "\(r.status) \(r.body)")
    }

    static func timings(_ r: Reply) throws -> (promptN: Int, cacheN: Int, reply: String) {
        let j = try json(r)
        let t = try #require(j["timings"] as? [String: Any], "\(r.body)")
        let choices = j["choices"] as? [[String: Any]]
        let text = (choices?.first?["message"] as? [String: Any])?["content"] as? String ?? ""
        return (t["prompt_n"] as? Int ?? -1, t["cache_n"] as? Int ?? -1, text)
    }

    /// The trap in FACTS.md: on b11434 a sliding-window model's restored slot is reused only with
    /// `--swa-full`. When a build fixes it, the first expectation fails and says so.
    @Test(arguments: [false, true]) func aRestoreIsReusedOnlyWithSWAFull(swaFull: Bool) async throws {
        let dir = try TestEnvironment.temporaryDirectory("slots")
        let server = try await LlamaServerProcess.start(context: 2048, slots: 1,
                                                        extraArguments: ["--slot-save-path", dir.path + "/"] + (swaFull ? ["--swa-full"] : []))
        defer { server.stop() }
        let turn1 = [("system", Self.system("files")), ("user", "List three files.")]
        let first = try Self.timings(await OnDemandCLITests.http("POST", server.baseURL + "/v1/chat/completions", body: Self.body(turn1, slot: 0)))
        let saved = try Self.json(await OnDemandCLITests.http("POST", server.baseURL + "/slots/0?action=save", body: #"{"filename":"t.bin"}"#))
        #expect((saved["n_saved"] as? Int ?? 0) >= first.promptN)
        _ = await OnDemandCLITests.http("POST", server.baseURL + "/slots/0?action=erase", body: "{}")
        let restored = try Self.json(await OnDemandCLITests.http("POST", server.baseURL + "/slots/0?action=restore", body: #"{"filename":"t.bin"}"#))
        #expect(restored["n_restored"] as? Int == saved["n_saved"] as? Int, "the server says it restored everything either way")
        let turn2 = turn1 + [("assistant", first.reply), ("user", "And two more.")]
        let second = try Self.timings(await OnDemandCLITests.http("POST", server.baseURL + "/v1/chat/completions", body: Self.body(turn2, slot: 0)))
        if swaFull {
            #expect(second.cacheN >= first.promptN, "with --swa-full the restored prefix is reused")
        } else {
            #expect(second.cacheN == 0, "b11434 reuses nothing of a restored sliding-window slot without --swa-full; a build that fixes it ends this trap")
        }
    }

    static func profile(port: Int) throws -> String {
        """
        kind: llama-server
        model: \(try TestEnvironment.testModel())
        port: \(port)
        context: 4096
        slots: 2
        threads: 1
        cache_ram: 0
        load: on-demand
        idle_unload: 6s
        warm_cache: true
        health:
          startup_timeout: 300s
          interval: 1s
          generation_interval: 0
        """
    }

    /// Two conversations on a two-slot warm-cache profile; idle unload saves both; their next turns are
    /// restored (the receipt says so) and the answers reuse at least the saved prompt; a request that
    /// matches nothing is served cold; files that are not ours are removed at the next load.
    @Test func twoConversationsSurviveAnIdleUnload() async throws {
        let d = try await OnDemandCLITests.Daemon(profiles: ["w": try Self.profile(port: TestEnvironment.freePort())],
                                                  gtt: 64 << 30, defaultProfile: "w")
        defer { d.stop() }
        let url = d.front + "/v1/chat/completions"
        let a1 = [("system", Self.system("files")), ("user", "List three files.")]
        let b1 = [("system", Self.system("colours")), ("user", "Name three colours.")]
        let ra1 = await OnDemandCLITests.http("POST", url, body: Self.body(a1))
        let rb1 = await OnDemandCLITests.http("POST", url, body: Self.body(b1))
        let ta1 = try Self.timings(ra1), tb1 = try Self.timings(rb1)
        #expect(ra1.headers["x-hermes-warm"]?.hasPrefix("slot ") == true, "\(ra1.headers)")
        #expect(ra1.headers["x-hermes-warm"] != rb1.headers["x-hermes-warm"], "two conversations, two slots")

        // Idle unload: both slots are saved, privately, before the server goes.
        let unloaded = await TestEnvironment.eventually { (try? await d.phase("w")) == "stopped" }
        #expect(unloaded, "the idle profile is unloaded")
        let kv = d.cli.stateDirectory.appendingPathComponent("kv/w")
        let files = try FileManager.default.contentsOfDirectory(atPath: kv.path).sorted()
        #expect(files.filter { $0.hasSuffix(".bin") }.count == 2, "\(files)")
        #expect(files.filter { $0.hasSuffix(".json") }.count == 2, "\(files)")
        let dirMode = try FileManager.default.attributesOfItem(atPath: kv.path)[.posixPermissions] as? Int
        #expect(dirMode == 0o700)
        for f in files {
            let mode = try FileManager.default.attributesOfItem(atPath: kv.appendingPathComponent(f).path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(f)")
        }

        let listed = try await d.cli.run(["kv", "list", "w"])
        #expect(listed.stdout.contains("w: 2 saved"), "\(listed.output)")
        #expect(try await d.servers()["w"]?["warm_saved"] as? Int == 2, "status --json counts them")
        let page = await OnDemandCLITests.http("GET", d.front + "/ui/state.json")
        #expect(page.body.contains("\"warm_text\":\"2 saved, "), "the status page's feed: \(page.status) \(page.body.prefix(300))")

        // Files that are not a whole record of this server are ignored and removed when it loads again.
        try Data("{not json".utf8).write(to: kv.appendingPathComponent("c-garbage.json"))
        try Data(repeating: 7, count: 100).write(to: kv.appendingPathComponent("c-orphan.bin"))

        // The next turn of each: restored, and the answer reuses at least what the first turn prefilled.
        let a2 = a1 + [("assistant", ta1.reply), ("user", "Two more.")]
        let b2 = b1 + [("assistant", tb1.reply), ("user", "Two more.")]
        let ra2 = await OnDemandCLITests.http("POST", url, body: Self.body(a2))
        let rb2 = await OnDemandCLITests.http("POST", url, body: Self.body(b2))
        for (r, first) in [(ra2, ta1), (rb2, tb1)] {
            #expect(r.headers["x-hermes-warm"]?.hasPrefix("restored ") == true, "\(r.headers)")
            let t = try Self.timings(r)
            #expect(t.cacheN >= first.promptN, "cache_n \(t.cacheN) after restoring a \(first.promptN)-token prompt")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: kv.path)
        #expect(!left.contains("c-garbage.json") && !left.contains("c-orphan.bin"), "\(left)")
        let modelEvents = d.events()
        #expect(modelEvents.contains("\"event\":\"kv_ignored\"") && modelEvents.contains("c-garbage.json") && modelEvents.contains("c-orphan.bin"),
                "\(modelEvents)")

        // A conversation that matches nothing saved is served cold: nothing restored.
        let cold = await OnDemandCLITests.http("POST", url, body: Self.body([("system", Self.system("weather")), ("user", "Rain?")]))
        #expect(cold.headers["x-hermes-warm"]?.hasPrefix("slot ") == true, "\(cold.headers)")
        #expect(try Self.timings(cold).cacheN < 50)
        let events = (try? String(contentsOf: d.cli.stateDirectory.appendingPathComponent("events.jsonl"), encoding: .utf8)) ?? ""
        #expect(events.contains("\"warm_restored\":"), "the request's event says it was restored")
    }
}
