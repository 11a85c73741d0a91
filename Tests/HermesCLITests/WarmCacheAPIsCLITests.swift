import Foundation
import HermesCore
import HermesTestSupport
import Testing

/// Warm prompt caches for the other APIs a warm-cache profile serves (issue 17): an Anthropic Messages,
/// a Responses and a completions conversation on a three-slot profile, an idle unload between their
/// turns, and each next turn restored into a slot with the earlier prompt reused (real llama-server).
@Suite(.serialized, .realProcesses) struct WarmCacheAPIsCLITests {
    typealias W = WarmCacheCLITests
    typealias Reply = OnDemandCLITests.Reply

    static func messages(_ turns: [(String, String)]) -> String {
        let list = turns.map { #"{"role":"\#($0.0)","content":"\#($0.1)"}"# }.joined(separator: ",")
        return #"{"model":"w","system":"\#(W.system("files"))","messages":[\#(list)],"max_tokens":4,"temperature":0}"#
    }

    /// llama-server's Responses input wants an earlier answer as a `message` item of `output_text`.
    static func responses(_ turns: [(String, String)]) -> String {
        let list = turns.map { role, text in
            role == "assistant"
                ? #"{"type":"message","role":"assistant","content":[{"type":"output_text","text":"\#(text)"}]}"#
                : #"{"role":"\#(role)","content":"\#(text)"}"#
        }.joined(separator: ",")
        return #"{"model":"w","instructions":"\#(W.system("colours"))","input":[\#(list)],"max_output_tokens":16,"temperature":0}"#
    }

    static func completion(_ prompt: String) -> String {
        #"{"model":"w","prompt":"\#(prompt)","max_tokens":4,"temperature":0}"#
    }

    /// (prompt tokens, tokens read from the cache, the reply) of an answer in each API's own shape.
    static func anthropic(_ r: Reply) throws -> (prompt: Int, cached: Int, reply: String) {
        let j = try W.json(r)
        let u = try #require(j["usage"] as? [String: Any], "\(r.body)")
        let cached = u["cache_read_input_tokens"] as? Int ?? -1
        let text = ((j["content"] as? [[String: Any]])?.first?["text"] as? String) ?? ""
        return ((u["input_tokens"] as? Int ?? -1) + max(cached, 0), cached, text)
    }

    static func openAIResponses(_ r: Reply) throws -> (prompt: Int, cached: Int, reply: String) {
        let j = try W.json(r)
        let u = try #require(j["usage"] as? [String: Any], "\(r.body)")
        let cached = (u["input_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int ?? -1
        let message = (j["output"] as? [[String: Any]])?.first { $0["type"] as? String == "message" }
        let text = ((message?["content"] as? [[String: Any]])?.first?["text"] as? String) ?? ""
        return (u["input_tokens"] as? Int ?? -1, cached, text)
    }

    static func completions(_ r: Reply) throws -> (prompt: Int, cached: Int, reply: String) {
        let j = try W.json(r)
        let t = try #require(j["timings"] as? [String: Any], "\(r.body)")
        let text = ((j["choices"] as? [[String: Any]])?.first?["text"] as? String) ?? ""
        return ((t["prompt_n"] as? Int ?? -1) + (t["cache_n"] as? Int ?? 0), t["cache_n"] as? Int ?? -1, text)
    }

    /// Text as a JSON string's inside (the replies go back into the next turn's body).
    static func escaped(_ s: String) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: [s])
        return String(String(decoding: data, as: UTF8.self).dropFirst(2).dropLast(2))
    }

    @Test func messagesResponsesAndCompletionsSurviveAnIdleUnload() async throws {
        let profile = try W.profile(port: TestEnvironment.freePort()).replacingOccurrences(of: "slots: 2", with: "slots: 3")
            .replacingOccurrences(of: "context: 4096", with: "context: 6144")
        let d = try await OnDemandCLITests.Daemon(profiles: ["w": profile], gtt: 64 << 30, defaultProfile: "w")
        defer { d.stop() }
        let prompt1 = W.system("weather") + "\\nQ: Will it rain?\\nA:"

        let m1 = [("user", "List three files.")]
        let r1 = [("user", "Name three colours.")]
        let am = await OnDemandCLITests.http("POST", d.front + "/v1/messages", body: Self.messages(m1))
        let ar = await OnDemandCLITests.http("POST", d.front + "/v1/responses", body: Self.responses(r1))
        let ac = await OnDemandCLITests.http("POST", d.front + "/v1/completions", body: Self.completion(prompt1))
        // /v1/messages drops id_slot on b11434: llama-server chooses, and the front reads back which.
        let slots = [am, ar, ac].map { $0.headers["x-hermes-warm"] ?? "none" }
        #expect(slots[0] == "slot auto" && slots[1].hasPrefix("slot ") && slots[2].hasPrefix("slot ") && slots[1] != slots[2], "\(slots)")
        let tm = try Self.anthropic(am), tr = try Self.openAIResponses(ar), tc = try Self.completions(ac)

        // Idle unload saves all three.
        #expect(await TestEnvironment.eventually { (try? await d.phase("w")) == "stopped" }, "the idle profile is unloaded")
        let kv = d.cli.stateDirectory.appendingPathComponent("kv/w")
        let saved = try FileManager.default.contentsOfDirectory(atPath: kv.path).filter { $0.hasSuffix(".bin") }
        #expect(saved.count == 3, "three conversations in three slots, each saved: \(saved)")

        // The next turn of each is restored, and the server reuses at least the first turn's prompt.
        let m2 = m1 + [("assistant", try Self.escaped(tm.reply)), ("user", "Two more.")]
        let r2 = r1 + [("assistant", try Self.escaped(tr.reply)), ("user", "Two more.")]
        let prompt2 = prompt1 + (try Self.escaped(tc.reply)) + "\\nQ: And tomorrow?\\nA:"
        let bm = await OnDemandCLITests.http("POST", d.front + "/v1/messages", body: Self.messages(m2))
        let br = await OnDemandCLITests.http("POST", d.front + "/v1/responses", body: Self.responses(r2))
        let bc = await OnDemandCLITests.http("POST", d.front + "/v1/completions", body: Self.completion(prompt2))
        for (name, r) in [("messages", bm), ("responses", br), ("completions", bc)] {
            #expect(r.headers["x-hermes-warm"]?.hasPrefix("restored ") == true, "\(name): \(r.status) \(r.headers)")
        }
        let sm = try Self.anthropic(bm), sr = try Self.openAIResponses(br), sc = try Self.completions(bc)
        #expect(sm.cached >= tm.prompt, "messages: \(sm.cached) cached after restoring a \(tm.prompt)-token prompt")
        #expect(sr.cached >= tr.prompt, "responses: \(sr.cached) cached after restoring a \(tr.prompt)-token prompt")
        // A raw prompt is tokenized anew: the token at the old end may join the reply's first one.
        #expect(sc.cached >= tc.prompt - 1, "completions: \(sc.cached) cached after restoring a \(tc.prompt)-token prompt")

        let events = (try? String(contentsOf: d.cli.stateDirectory.appendingPathComponent("events.jsonl"), encoding: .utf8)) ?? ""
        let restored = events.split(separator: "\n").filter { $0.contains("\"warm_restored\":") }
        #expect(restored.count == 3, "each request's event says it was restored: \(restored)")
        #expect(restored.allSatisfy { $0.contains("\"cache_n\":") }, "and how much the server reused: \(restored)")
    }
}
