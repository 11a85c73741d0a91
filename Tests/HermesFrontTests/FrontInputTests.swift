import Foundation
import HermesCore
import HermesFront
import HermesTestSupport
import Testing

/// Bad input, auth, confirm routes, reload, metrics and events: the front answers OpenAI-shaped errors
/// and keeps serving.
@Suite(.serialized) struct FrontInputTests {
    func config(_ up: FaultUpstream, apiKeyEnv: String? = nil, maxBody: Int? = nil) throws -> HermesConfig {
        try FrontFixture.config([
            FrontFixture.remote("cloud", baseURL: up.url("ok") + "/v1", model: "cloud-model"),
            FrontFixture.remote("cheap", baseURL: up.url("ok") + "/v1", model: "cheap-model"),
        ], default: "cloud", routes: [
            Route(match: { var m = RouteMatch(); m.goalMatches = ["security review"]; return m }(),
                  target: .confirm(reason: "security work is done with a person in the loop"), name: "security",
                  source: SourceLocation(file: "runtime.yaml")),
            Route(match: { var m = RouteMatch(); m.sourceKind = ["cron"]; return m }(), target: .profile("cheap"),
                  name: "cron-is-cheap", source: SourceLocation(file: "runtime.yaml")),
        ], aliases: ["gemma": "cloud"], apiKeyEnv: apiKeyEnv, maxBody: maxBody)
    }

    func errorCode(_ a: Answer) -> String? { (a.json["error"] as? [String: Any])?["code"] as? String }

    @Test func badInputIsAnOpenAIShaped4xxAndTheFrontKeepsServing() async throws {
        try await withFaultUpstream { up in
            try await withFront(try config(up, maxBody: 4096), runtime: MutableRuntimeState()) { f in
                let url = f.base + "/v1/chat/completions"
                let cases: [(String, Int, String)] = [
                    ("{not json", 400, "invalid_json"),
                    (#"{"model":"x"}"#, 400, "missing_messages"),
                    (#"{"messages":[{"content":"x"}]}"#, 400, "invalid_messages"),
                    (#"["a"]"#, 400, "invalid_body"),
                    (chatBody(String(repeating: "x", count: 5000)), 413, "body_too_large"),
                ]
                for (body, status, code) in cases {
                    let a = try await send(url, json: body)
                    #expect(a.status == status, "\(code)")
                    #expect(errorCode(a) == code)
                    let error = a.json["error"] as? [String: Any]
                    #expect(error?["message"] is String)
                    #expect(error?["type"] as? String == "invalid_request_error")
                }
                let unknown = try await send(url, json: chatBody("hi"), headers: ["X-Hermes-Profile": "nope"])
                #expect(unknown.status == 400)
                #expect(errorCode(unknown) == "unknown_profile")
                let missingPath = try await send(f.base + "/v1/nothing", method: .GET)
                #expect(missingPath.status == 404)
                #expect(errorCode(missingPath) == "not_found")
                let ok = try await send(url, json: chatBody("still here"))
                #expect(ok.status == 200)
                #expect(up.hitCount("ok") == 1)
                // Every answer wrote its event, the unknown path's included (reason unknown_endpoint).
                _ = try await f.event(id: ok.requestID)
                #expect(try f.events().count == cases.count + 3)
                #expect(try await f.event(id: missingPath.requestID)["reason"] as? String == "unknown_endpoint")
            }
        }
    }

    @Test func confirmRouteAnswers409AndNeverForwards() async throws {
        try await withFaultUpstream { up in
            try await withFront(try config(up), runtime: MutableRuntimeState()) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("go"),
                                       headers: ["X-Hermes-Goal": "a Security Review of the login code"])
                #expect(a.status == 409)
                #expect(errorCode(a) == "confirm")
                #expect((a.json["error"] as? [String: Any])?["message"] as? String == "security work is done with a person in the loop")
                #expect(a.header("X-Hermes-Reason") == "confirm:security")
                #expect(up.hitCount("ok") == 0)
                // Metadata works as well as headers, and routes pick profiles.
                let cron = try await send(f.base + "/v1/chat/completions",
                                          json: chatBody("go", extra: #","metadata":{"source_kind":"cron"}"#))
                #expect(cron.header("X-Hermes-Route") == "cheap")
                #expect(cron.header("X-Hermes-Reason") == "route:cron-is-cheap")
                #expect(up.received?["model"] as? String == "cheap-model")
                #expect(cron.json["model"] as? String == "any")
                let alias = try await send(f.base + "/v1/chat/completions", json: chatBody("go", model: "cheap"))
                #expect(alias.header("X-Hermes-Reason") == "explicit")
            }
        }
    }

    @Test func bearerKeyIsRequiredWhenConfigured() async throws {
        try await withFaultUpstream { up in
            let options = FrontOptions(environment: ["FRONT_KEY": "s3cret"])
            try await withFront(try config(up, apiKeyEnv: "FRONT_KEY"), runtime: MutableRuntimeState(), options: options) { f in
                let url = f.base + "/v1/chat/completions"
                let none = try await send(url, json: chatBody("hi"))
                #expect(none.status == 401)
                #expect(errorCode(none) == "invalid_api_key")
                let wrong = try await send(url, json: chatBody("hi"), headers: ["Authorization": "Bearer s3cre"])
                #expect(wrong.status == 401)
                let right = try await send(url, json: chatBody("hi"), headers: ["Authorization": "Bearer s3cret"])
                #expect(right.status == 200)
                // The front's key is not sent upstream.
                #expect(up.receivedHeaders["authorization"] == nil)
                #expect(try await send(f.base + "/v1/models", method: .GET).status == 401)
                // Health stays open for probes.
                #expect(try await send(f.base + "/health", method: .GET).status == 200)
            }
        }
    }

    @Test func refusesToListenOpenOrWithoutItsKey() async throws {
        let open = try FrontFixture.config([FrontFixture.remote("cloud", baseURL: "http://127.0.0.1:1/v1")], default: "cloud", host: "0.0.0.0")
        let events = FileManager.default.temporaryDirectory.appendingPathComponent("unused-events.jsonl")
        #expect(throws: FrontError.self) {
            _ = try buildFront(config: open, runtime: MutableRuntimeState(), eventsFile: events, logger: FrontFixture.logger,
                               options: FrontOptions(environment: [:], host: "0.0.0.0"))
        }
        var keyed = open
        keyed.runtime.front.apiKeyEnv = "FRONT_KEY"
        #expect(throws: FrontError.self) {
            _ = try buildFront(config: keyed, runtime: MutableRuntimeState(), eventsFile: events, logger: FrontFixture.logger,
                               options: FrontOptions(environment: [:], host: "0.0.0.0"))
        }
        let built = try buildFront(config: keyed, runtime: MutableRuntimeState(), eventsFile: events, logger: FrontFixture.logger,
                                   options: FrontOptions(environment: ["FRONT_KEY": "k"], host: "0.0.0.0"))
        #expect(built.front.host == "0.0.0.0")
        // Built but never run: the caller closes its upstream clients.
        await built.front.shutdown()
    }

    @Test func reloadSwapsRoutesForTheNextRequest() async throws {
        try await withFaultUpstream { up in
            let first = try config(up)
            try await withFront(first, runtime: MutableRuntimeState()) { f in
                #expect(try await send(f.base + "/v1/chat/completions", json: chatBody("hi")).header("X-Hermes-Route") == "cloud")
                var next = first
                next.runtime.front.defaultProfile = "cheap"
                try f.front.reload(next)
                #expect(f.front.config.runtime.front.defaultProfile == "cheap")
                #expect(try await send(f.base + "/v1/chat/completions", json: chatBody("hi")).header("X-Hermes-Route") == "cheap")
                // A reload the front must refuse keeps the old config.
                var bad = next
                bad.runtime.front.apiKeyEnv = "UNSET_KEY_VARIABLE"
                #expect(throws: FrontError.self) { try f.front.reload(bad) }
                #expect(f.front.config.runtime.front.apiKeyEnv == nil)
            }
        }
    }

    @Test func metricsCountRequestsAndTheHookServesThem() async throws {
        try await withFaultUpstream { up in
            let recorder = RecordingMetrics()
            let options = FrontOptions(environment: [:], metricsFactory: recorder, metricsText: { recorder.render() })
            let cfg = try FrontFixture.config([
                // Retry-After 60: a 1 s cooldown can be over before the gauge is read on a loaded box.
                FrontFixture.remote("cloud", baseURL: up.url("429x60") + "/v1", fallback: ["cheap"]),
                FrontFixture.remote("cheap", baseURL: up.url("ok") + "/v1"),
            ], default: "cloud")
            try await withFront(cfg, runtime: MutableRuntimeState(), options: options) { f in
                _ = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                let m = try await send(f.base + "/metrics", method: .GET)
                #expect(m.status == 200)
                #expect(m.body.contains("hermes_front_requests_total"))
                #expect(recorder.value("hermes_front_requests_total", [("profile", "cheap"), ("reason", "fallback"), ("status", "200")]) == 1)
                #expect(recorder.value("hermes_front_fallbacks_total", [("reason", "rate_limited")]) == 1)
                #expect(recorder.value("hermes_front_cooldowns_active") == 1)
                #expect(recorder.value("hermes_front_in_flight", [("profile", "cheap")]) == 0)
            }
            let noHook = try FrontFixture.config([FrontFixture.remote("cloud", baseURL: up.url("ok") + "/v1")], default: "cloud")
            try await withFront(noHook, runtime: MutableRuntimeState(), options: FrontOptions(environment: [:], metricsFactory: recorder)) { f in
                let m = try await send(f.base + "/metrics", method: .GET)
                #expect(m.status == 404)
            }
        }
    }
}

@Suite struct FrontPieceTests {
    @Test func sha256MatchesTheFIPSVectors() {
        #expect(PromptDigest.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(PromptDigest.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(PromptDigest.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(PromptDigest.hex(String(repeating: "a", count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func eventLogRotatesBySizeAndKeepsN() throws {
        let dir = try TestEnvironment.temporaryDirectory("events")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("events.jsonl")
        let log = EventLog(file: file, maxBytes: 4096, keep: 2)
        let line = Data((#"{"x":""# + String(repeating: "y", count: 1000) + #""}"#).utf8)
        for _ in 0..<20 { log.append(line) }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"])
        for name in names {
            let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            #expect(text.utf8.count <= 4096)
            for l in text.split(separator: "\n") { #expect(l.utf8.count == line.count) }
        }
    }
}
