import Foundation
import HermesTestSupport
import Testing

/// The supervisor's one-token generation probe runs in the idle slot holding least, and not at all when
/// every idle slot holds a conversation, so conversations are still there for their next turn (without
/// a slot named, llama-server placed the "ping" by prompt similarity, in a conversation's slot,
/// throwing its KV away: found by scripts/bench/slots.sh).
@Suite(.serialized, .realProcesses) struct ProbeSlotCLITests {
    let web = DaemonWiringCLITests()

    struct Slot {
        var id: Int
        var task: Int?
        var prompt: Int?
    }

    func slots(_ port: Int) async -> [Slot] {
        let r = await web.http("GET", "http://127.0.0.1:\(port)/slots")
        let list = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [[String: Any]] ?? []
        return list.compactMap { s in (s["id"] as? Int).map { Slot(id: $0, task: s["id_task"] as? Int, prompt: s["n_prompt_tokens"] as? Int) } }
    }

    func start(_ port: Int) async throws -> CLIRunner {
        let profile = """
        kind: llama-server
        model: \(try TestEnvironment.testModel())
        port: \(port)
        context: 2048
        slots: 2
        threads: 1
        gpu_layers: 0
        cache_ram: 0
        health:
          startup_timeout: 300s
          interval: 1s
          generation_interval: 1s
        """
        let root = try TestEnvironment.configRoot(profiles: ["demo": profile])
        let cli = try CLIRunner(configRoot: root)
        let started = try await cli.run(["start", "demo"])
        #expect(started.status == 0, "\(started.output)")
        return cli
    }

    func chat(_ port: Int, _ body: String) async -> (status: Int, reused: Int?, body: String) {
        let r = await web.http("POST", "http://127.0.0.1:\(port)/v1/chat/completions", body: body)
        let timings = ((try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any])?["timings"] as? [String: Any]
        return (r.status, timings?["cache_n"] as? Int, r.body)
    }

    static func turns(_ story: String) -> (String, String) {
        (#"{"messages":[{"role":"user","content":"\#(story)"}],"max_tokens":2,"temperature":0}"#,
         #"{"messages":[{"role":"user","content":"\#(story)"},{"role":"assistant","content":"Yes."},"#
            + #"{"role":"user","content":"Who wins?"}],"max_tokens":2,"temperature":0}"#)
    }

    @Test func withAnEmptySlotTheProbeRunsThereAndTheConversationKeepsItsOwn() async throws {
        let port = TestEnvironment.freePort()
        let cli = try await start(port)
        defer { cli.shutDown() }
        let (turn1, turn2) = Self.turns(String(repeating: "A cat and a dog share a flat in the city and argue about the sofa. ", count: 12))
        let first = await web.http("POST", "http://127.0.0.1:\(port)/v1/chat/completions", body: turn1)
        #expect(first.status == 200, "\(first.body)")
        let held = try #require((await slots(port)).filter { ($0.prompt ?? 0) > 100 }.max { ($0.task ?? 0) < ($1.task ?? 0) },
                                "no slot holds the conversation")
        let heldTask = held.task ?? 0

        // Two probes after it: tasks numbered after the conversation's, in any slot.
        let probed = await TestEnvironment.eventually {
            (await slots(port)).compactMap(\.task).max().map { $0 >= heldTask + 2 } ?? false
        }
        #expect(probed, "no generation probe ran")
        let after = await slots(port)
        #expect(after.first { $0.id == held.id }?.task == heldTask, "a probe ran in the conversation's slot: \(after)")

        // The next turn reuses the whole first one.
        let second = await chat(port, turn2)
        #expect(second.status == 200, "\(second.body)")
        let reused = second.reused ?? 0
        #expect(reused >= (held.prompt ?? 0) - 8, "reused \(reused) of the first turn's \(held.prompt ?? 0) tokens")
    }

    @Test func whenEverySlotHoldsAConversationNoProbeTakesOneAway() async throws {
        let port = TestEnvironment.freePort()
        let cli = try await start(port)
        defer { cli.shutDown() }
        let a = Self.turns(String(repeating: "A cat and a dog share a flat in the city and argue about the sofa. ", count: 12))
        let b = Self.turns(String(repeating: "Two gardeners plant tomatoes by the river and count the bees each morning. ", count: 12))
        // Placed by the test, one per slot (llama-server's own choice could put both in one).
        for (slot, t) in [a.0, b.0].enumerated() {
            let r = await chat(port, t.replacingOccurrences(of: #"{"messages""#, with: #"{"id_slot":\#(slot),"messages""#))
            #expect(r.status == 200, "\(r.body)")
        }
        let before = await slots(port)
        #expect(before.filter { ($0.prompt ?? 0) > 100 }.count == 2, "each conversation has a slot: \(before)")

        // The skip is said in the server's log; after it, every probe turn passes without a generation.
        let skipped = await TestEnvironment.eventually {
            (try? await cli.run(["logs", "demo", "-n", "200"]))?.stdout.contains("generation probe skipped") == true
        }
        #expect(skipped, "the log never said the probe was skipped")
        let after = await slots(port)
        #expect(after.map(\.task) == before.map(\.task), "a probe ran in a conversation's slot: \(before) -> \(after)")
        for (first, next) in [a, b] {
            _ = first
            let r = await chat(port, next)
            #expect(r.status == 200, "\(r.body)")
            #expect((r.reused ?? 0) > 100, "the conversation was thrown away: reused \(r.reused ?? 0)")
        }
    }
}
