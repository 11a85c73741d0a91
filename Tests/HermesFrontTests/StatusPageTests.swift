import Foundation
import HermesCore
import HermesTestSupport
import Synchronization
import Testing

@testable import HermesFront

/// The status page's routes on a live front: the page itself, `/ui/state.json` (routing decisions
/// and tallies, never prompt text), the key guarding reads and buttons, and the event ring.
@Suite(.serialized) struct StatusPageTests {
    /// Stands in for the daemon: fixed servers, a log, and the buttons pressed.
    final class FakeSource: StatusPageSource {
        let pressed = Mutex<[String]>([])
        func snapshot() async -> Data {
            Data(#"{"daemon":{"pid":42},"servers":[{"profile":"local","phase":"stopped","restarts":0}],"gpu":{"reason":"no AMD GPU"}}"#.utf8)
        }
        func logTail(profile: String, lines: Int) async -> [String]? { ["line one of \(profile)", "line two"] }
        func perform(_ action: StatusPageAction, profile: String) async -> (status: Int, message: String) {
            pressed.withLock { $0.append("\(action.rawValue) \(profile)") }
            return (200, "\(profile): done")
        }
    }

    func config(_ up: FaultUpstream, apiKeyEnv: String? = nil) throws -> HermesConfig {
        try FrontFixture.config([
            FrontFixture.local("local", burst: "cloud"),
            FrontFixture.remote("cloud", baseURL: up.url("ok") + "/v1", model: "cloud-model"),
        ], default: "local", apiKeyEnv: apiKeyEnv)
    }

    @Test func thePageIsServedFromTheBinaryAtRootAndUI() async throws {
        try await withFaultUpstream { up in
            try await withFront(try config(up), runtime: MutableRuntimeState()) { f in
                for path in ["/", "/ui"] {
                    let a = try await send(f.base + path, method: .GET)
                    #expect(a.status == 200)
                    #expect(a.header("content-type")?.hasPrefix("text/html") == true)
                    #expect(a.body.contains("<title>hermes-runtime</title>"))
                    #expect(a.body.contains("/ui/state.json"))
                    #expect(a.header("content-security-policy")?.contains("default-src 'none'") == true)
                    #expect(a.header("x-frame-options") == "DENY")
                }
            }
        }
    }

    @Test func stateListsDecisionsAndBurstsByReasonButNoPromptText() async throws {
        try await withFaultUpstream { up in
            // The local server is down: the request bursts to the cloud with reason local_down.
            let runtime = MutableRuntimeState(["local": LocalRuntimeStatus(phase: .stopped)])
            try await withFront(try config(up), runtime: runtime) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("secret-word-quokka"))
                #expect(a.status == 200)
                let s = try await send(f.base + "/ui/state.json", method: .GET)
                #expect(s.status == 200)
                #expect(!s.body.contains("quokka"))
                #expect(!s.body.contains("prompt_sha256"))
                let routing = try #require(s.json["routing"] as? [String: Any])
                let recent = try #require(routing["recent"] as? [[String: Any]])
                #expect(recent.count == 1)
                #expect(recent.first?["profile"] as? String == "cloud")
                #expect(recent.first?["reason"] as? String == "local_down")
                #expect(recent.first?["status"] as? Int == 200)
                #expect(recent.first?["id"] as? String == a.requestID)
                #expect((recent.first?["total_ms"] as? Double ?? -1) >= 0)
                #expect((routing["bursts"] as? [String: Int])?["local_down"] == 1)
                let front = try #require(s.json["front"] as? [String: Any])
                #expect(front["controls"] as? Bool == false)
                #expect(front["auth"] as? Bool == false)
                #expect(s.json["daemon"] == nil)
                // Buttons need a key: without one the front refuses, whatever is sent.
                let press = try await send(f.base + "/ui/servers/local/start", method: .POST)
                #expect(press.status == 403)
            }
        }
    }

    @Test func theFrontKeyGuardsReadsAndButtons() async throws {
        try await withFaultUpstream { up in
            let source = FakeSource()
            var options = FrontOptions(environment: ["FRONT_KEY": "k-123"])
            options.statusPage = source
            try await withFront(try config(up, apiKeyEnv: "FRONT_KEY"), runtime: MutableRuntimeState(), options: options) { f in
                let key = ["Authorization": "Bearer k-123"]
                #expect(try await send(f.base + "/", method: .GET).status == 200)  // the page asks for the key itself
                #expect(try await send(f.base + "/ui/state.json", method: .GET).status == 401)
                #expect(try await send(f.base + "/ui/logs/local", method: .GET).status == 401)
                let s = try await send(f.base + "/ui/state.json", method: .GET, headers: key)
                #expect(s.status == 200)
                #expect((s.json["front"] as? [String: Any])?["controls"] as? Bool == true)
                #expect((s.json["daemon"] as? [String: Any])?["pid"] as? Int == 42)
                #expect((s.json["servers"] as? [[String: Any]])?.first?["profile"] as? String == "local")
                let log = try await send(f.base + "/ui/logs/local?lines=5", method: .GET, headers: key)
                #expect((log.json["lines"] as? [String])?.first == "line one of local")
                #expect(try await send(f.base + "/ui/servers/local/start", method: .POST).status == 401)
                #expect(try await send(f.base + "/ui/servers/local/start", method: .POST, headers: ["Authorization": "Bearer nope"]).status == 401)
                #expect(source.pressed.withLock { $0 }.isEmpty)
                let ok = try await send(f.base + "/ui/servers/local/start", method: .POST, headers: key)
                #expect(ok.status == 200)
                #expect(ok.json["ok"] as? Bool == true)
                #expect(try await send(f.base + "/ui/servers/local/explode", method: .POST, headers: key).status == 404)
                #expect(try await send(f.base + "/ui/servers/cloud/stop", method: .POST, headers: key).status == 404)
                #expect(try await send(f.base + "/ui/servers/..%2Fetc/stop", method: .POST, headers: key).status == 404)
                #expect(source.pressed.withLock { $0 } == ["start local"])
            }
        }
    }

    @Test func theEventRingKeepsTheLastFiftyNewestFirst() throws {
        let dir = try TestEnvironment.temporaryDirectory("ring")
        let log = EventLog(file: dir.appendingPathComponent("events.jsonl"), maxBytes: 1 << 20, keep: 1)
        for i in 0..<60 { log.append(Array("{\"n\":\(i)}".utf8)) }
        let recent = log.recentLines().map { String(decoding: $0, as: UTF8.self) }
        #expect(recent.count == EventLog.recentCapacity)
        #expect(recent.first == "{\"n\":59}")
        #expect(recent.last == "{\"n\":10}")
        #expect(log.failures.dropped == 0)
    }

    @Test func eventsThatCannotBeWrittenAreCountedNotThrown() throws {
        // /dev/full: every write fails with ENOSPC, as on a full disk.
        let log = EventLog(file: URL(fileURLWithPath: "/dev/full"), maxBytes: 1 << 20, keep: 1)
        for i in 0..<3 { log.append(Array("{\"n\":\(i)}".utf8)) }
        #expect(log.failures.dropped == 3)
        #expect(log.recentLines().count == 3)  // the page still shows them
    }
}
