import Foundation
import HermesCore
import HermesTestSupport
import Testing

/// Warm prompt caches across `stop`/`start` and a `kill -9` of llama-server (from the last checkpoint).
@Suite(.serialized, .realProcesses) struct WarmCacheRestartCLITests {
    typealias W = WarmCacheCLITests

    /// The file name the daemon gives a saved conversation: its last prefix key.
    static func savedName(_ body: String) throws -> String {
        let bytes = Array(body.utf8)
        let keys = PrefixKeys.keys(for: try RequestDecoder.decode(.chatCompletions, body: bytes), body: bytes)
        return "c-" + SavedConversation.hex(try #require(keys.last)) + ".bin"
    }

    /// Whether llama-server on `port` is answering a request now.
    static func processing(_ port: Int) async -> Bool {
        await HTTPExchange.send("GET", "http://127.0.0.1:\(port)/slots", timeout: 10).body.contains(#""is_processing":true"#)
    }

    @Test func aConversationSurvivesStopStartAndAKill9() async throws {
        let port = TestEnvironment.freePort()
        let profile = try W.profile(port: port).replacingOccurrences(of: "idle_unload: 6s", with: "idle_unload: 0")
        // The drain limit only bounds a hang: the answer in flight must finish on a loaded box.
        let d = try await OnDemandCLITests.Daemon(profiles: ["w": profile], gtt: 64 << 30, defaultProfile: "w",
                                                  runtime: "daemon:\n  drain_timeout: 300\n")
        defer { d.stop() }
        let url = d.front + "/v1/chat/completions"
        let kv = d.cli.stateDirectory.appendingPathComponent("kv/w")

        // `stop` while turn 1 is being answered: the answer is let finish and arrives whole, and its
        // conversation is saved with the server's idle slots before the server stops.
        let a1 = [("system", W.system("files")), ("user", "List three files.")]
        let long1 = W.body(a1).replacingOccurrences(of: #""max_tokens":4"#, with: #""max_tokens":128,"ignore_eos":true"#)
        async let answer1 = OnDemandCLITests.http("POST", url, body: long1)
        let answering = await TestEnvironment.eventually { await Self.processing(port) }
        #expect(answering, "the server never started answering turn 1")
        let stopped = try await d.cli.run(["stop", "w"])
        #expect(stopped.status == 0, "\(stopped.output)")
        let r1 = await answer1
        #expect(r1.status == 200, "the answer in flight was cut by stop: \(r1.body.prefix(300))")
        let t1 = try W.timings(r1)
        #expect(FileManager.default.fileExists(atPath: kv.appendingPathComponent(try Self.savedName(long1)).path),
                "the conversation answered during stop was saved")

        // The next turn loads the model again and restores the conversation.
        let a2 = a1 + [("assistant", try WarmCacheAPIsCLITests.escaped(t1.reply)), ("user", "Two more.")]
        let r2 = await OnDemandCLITests.http("POST", url, body: W.body(a2))
        #expect(r2.headers["x-hermes-warm"]?.hasPrefix("restored ") == true, "\(r2.headers)")
        let t2 = try W.timings(r2)
        #expect(t2.cacheN >= t1.promptN)

        // Idle for a moment: the grown conversation is checkpointed while the server runs.
        let checkpoint = kv.appendingPathComponent(try Self.savedName(W.body(a2)))
        let saved = await TestEnvironment.eventually { FileManager.default.fileExists(atPath: checkpoint.path) }
        #expect(saved, "a checkpoint of the second turn")

        // `daemon restart`: the new daemon adopts the server and reads what its slots hold, so the next
        // turn goes to its live slot (before, every slot looked empty and the checkpoint was restored).
        let pidBefore = try #require(try await d.servers()["w"]?["pid"] as? Int)
        let restarted = try await d.cli.run(["daemon", "restart"])
        #expect(restarted.status == 0, "\(restarted.output)")
        let adopted = await TestEnvironment.eventually {
            let s = try? await d.servers()["w"]
            return s?["phase"] as? String == "ready" && s?["adopted"] as? Bool == true
        }
        #expect(adopted, "the new daemon adopted the server")
        #expect(try await d.servers()["w"]?["pid"] as? Int == pidBefore, "adopted, not reloaded")
        let b3 = a2 + [("assistant", t2.reply), ("user", "Three more.")]
        let rb3 = await OnDemandCLITests.http("POST", url, body: W.body(b3))
        #expect(rb3.headers["x-hermes-warm"]?.hasPrefix("slot ") == true, "\(rb3.headers)")
        #expect(try W.timings(rb3).cacheN >= t2.promptN + t2.cacheN - 1)

        // kill -9 of llama-server: the supervisor restarts it; the next turn comes back from the checkpoint.
        let pid = try #require(try await d.servers()["w"]?["pid"] as? Int)
        kill(pid_t(pid), SIGKILL)
        let back = await TestEnvironment.eventually {
            let s = try? await d.servers()["w"]
            return s?["phase"] as? String == "ready" && (s?["pid"] as? Int).map { $0 != pid } == true
        }
        #expect(back, "the supervisor restarted the killed server")
        let a3 = a2 + [("assistant", t2.reply), ("user", "One more.")]
        let r3 = await OnDemandCLITests.http("POST", url, body: W.body(a3))
        #expect(r3.headers["x-hermes-warm"]?.hasPrefix("restored ") == true, "\(r3.headers)")
        #expect(try W.timings(r3).cacheN >= t2.promptN + t2.cacheN - 1)
    }

    /// Evicted by another on-demand model, then the daemon stopped and started again: the conversation
    /// comes back each time.
    @Test func aConversationSurvivesAnEvictionAndADaemonRestart() async throws {
        var big = LlamaServerSettings()
        big.context = 4096
        big.slots = 2
        big.cacheRAM = 0
        let need = MemoryEstimate(model: try GGUFReader.modelInfo(path: try TestEnvironment.testModel()), settings: big).totalBytes
        let other = try OnDemandCLITests.profile(port: TestEnvironment.freePort()).replacingOccurrences(of: "context: 1024", with: "context: 4096")
        let d = try await OnDemandCLITests.Daemon(profiles: ["w": try W.profile(port: TestEnvironment.freePort()).replacingOccurrences(of: "idle_unload: 6s", with: "idle_unload: 0"),
                                                             "b": other],
                                                  gtt: need * 3 / 2, defaultProfile: "w")
        defer { d.stop() }
        let url = d.front + "/v1/chat/completions"

        let a1 = [("system", W.system("files")), ("user", "List three files.")]
        let t1 = try W.timings(await OnDemandCLITests.http("POST", url, body: W.body(a1)))
        // Another model that does not fit beside it evicts it (saving its slots first).
        let rb = await OnDemandCLITests.http("POST", url, body: OnDemandCLITests.chat("b"))
        #expect(rb.status == 200, "\(rb.body)")
        #expect(try await d.phase("w") == "stopped", "evicted")
        let a2 = a1 + [("assistant", t1.reply), ("user", "Two more.")]
        let r2 = await OnDemandCLITests.http("POST", url, body: W.body(a2))
        #expect(r2.headers["x-hermes-warm"]?.hasPrefix("restored ") == true, "\(r2.headers)")
        let t2 = try W.timings(r2)
        #expect(t2.cacheN >= t1.promptN)

        // daemon stop saves it; a new daemon on the same root restores it.
        d.stop()
        let next = Process()
        next.executableURL = URL(fileURLWithPath: d.cli.binary)
        next.arguments = ["serve"]
        next.environment = d.cli.environment
        next.standardOutput = FileHandle.nullDevice
        next.standardError = FileHandle.nullDevice
        try next.run()
        defer {
            _ = try? d.cli.runBlocking(["daemon", "stop"])
            if next.isRunning { next.terminate() }
        }
        let front = d.front
        let up = await TestEnvironment.eventually { await OnDemandCLITests.http("GET", front + "/health", timeout: 2).status == 200 }
        #expect(up, "the second daemon's front answers")
        let a3 = a2 + [("assistant", t2.reply), ("user", "One more.")]
        let r3 = await OnDemandCLITests.http("POST", url, body: W.body(a3))
        #expect(r3.headers["x-hermes-warm"]?.hasPrefix("restored ") == true, "\(r3.headers)")
        #expect(try W.timings(r3).cacheN >= t2.promptN + t2.cacheN - 1)
    }
}
