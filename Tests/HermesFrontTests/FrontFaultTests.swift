import AsyncHTTPClient
import Foundation
import NIOCore
import HermesCore
import HermesFront
import HermesTestSupport
import Testing

/// The front against a fault-injecting upstream: every failure before the first byte moves on, every
/// failure after it is reported in the stream, and each leaves the right receipt and event.
@Suite(.serialized) struct FrontFaultTests {
    /// `local` (ready, served by `localMode`) bursts to `primary` (served by `primaryMode`), which falls
    /// back to `secondary` (`secondaryMode`).
    func setup(_ up: FaultUpstream, localMode: String = "ok", primaryMode: String, secondaryMode: String = "ok",
               primaryTimeout: Double? = nil, defaultProfile: String = "primary") throws -> (HermesConfig, MutableRuntimeState)
    {
        let config = try FrontFixture.config([
            FrontFixture.local("local", burst: "primary"),
            FrontFixture.remote("primary", baseURL: up.url(primaryMode) + "/v1", model: "primary-model", fallback: ["secondary"],
                                keyEnv: "PRIMARY_KEY", timeout: primaryTimeout, cooldown: 30, headers: ["X-Title": "hermes"]),
            FrontFixture.remote("secondary", baseURL: up.url(secondaryMode) + "/v1", model: "secondary-model"),
        ], default: defaultProfile)
        let runtime = MutableRuntimeState(["local": LocalRuntimeStatus(phase: .ready, baseURL: up.url(localMode), slotsTotal: 2, contextPerSlot: 512)])
        return (config, runtime)
    }

    let options = FrontOptions(environment: ["PRIMARY_KEY": "sk-primary-secret"])

    @Test func remoteGetsItsKeyModelAndHeaders() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try setup(up, primaryMode: "ok")
            try await withFront(config, runtime: runtime, options: options) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi", model: "client-model"),
                                       headers: ["Authorization": "Bearer client-key-must-not-leak"])
                #expect(a.status == 200)
                #expect(a.header("X-Hermes-Route") == "primary")
                #expect(a.header("X-Hermes-Reason") == "default")
                #expect(a.header("X-Hermes-Attempts") == "primary:200")
                #expect(Double(a.header("X-Hermes-Overhead-Ms") ?? "") != nil)
                // The upstream got the profile's model; the client gets back the name it asked for.
                #expect(up.received?["model"] as? String == "primary-model")
                #expect(a.json["model"] as? String == "client-model")
                #expect(up.receivedHeaders["authorization"] == "Bearer sk-primary-secret")
                #expect(up.receivedHeaders["x-title"] == "hermes")
                #expect(up.received?["model"] as? String == "primary-model")
                let e = try await f.event(id: a.requestID)
                #expect(e["profile"] as? String == "primary")
                #expect(e["status"] as? Int == 200)
                let line = try String(contentsOf: f.eventsFile, encoding: .utf8)
                #expect(!line.contains("sk-primary-secret"))
                #expect(!line.contains("client-key-must-not-leak"))
                #expect(!line.contains("\"hi\""))
                #expect(e["prompt_sha256"] as? String == PromptDigest.hex("hi"))
            }
        }
    }

    /// A 200 KB answer gathered from three chunks goes out as slices around the client's `model` name:
    /// every byte of it, in order, with the right length.
    @Test func aLargeAnswerGetsTheClientsModelNameAndEveryByte() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try setup(up, primaryMode: "big")
            try await withFront(config, runtime: runtime, options: options) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi", model: "client-model"))
                #expect(a.status == 200)
                #expect(up.received?["model"] as? String == "primary-model")
                #expect(a.body == FaultUpstream.completion(model: "client-model", content: FaultUpstream.bigContent))
                #expect(a.header("Content-Length") == String(a.body.utf8.count))
            }
        }
    }

    @Test func rateLimitFallsBackAndCoolsDown() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try setup(up, primaryMode: "429x10")
            try await withFront(config, runtime: runtime, options: options) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(a.status == 200)
                #expect(a.header("X-Hermes-Route") == "secondary")
                #expect(a.header("X-Hermes-Reason") == "fallback")
                #expect(a.header("X-Hermes-Attempts") == "primary:429,secondary:200")
                #expect(up.received?["model"] as? String == "secondary-model")
                #expect(a.json["model"] as? String == "any")
                // Retry-After: 10 -> primary is skipped for ten seconds, without being called (10, not 1:
                // the next request must come within the cooldown even when the first one took seconds on a
                // loaded box).
                let b = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(b.header("X-Hermes-Attempts") == "primary:cooldown,secondary:200")
                #expect(up.hitCount("429x10") == 1)
                let e = try await f.event(id: b.requestID)
                let attempts = e["attempts"] as? [[String: Any]] ?? []
                #expect(attempts.map { $0["outcome"] as? String } == ["cooldown", "200"])
                // After Retry-After has passed it is tried again.
                try await Task.sleep(for: .milliseconds(10_200))
                let c = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(c.header("X-Hermes-Attempts") == "primary:429,secondary:200")
                #expect(up.hitCount("429x10") == 2)
            }
        }
    }

    @Test func badGatewayFallsBack() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try setup(up, primaryMode: "502")
            try await withFront(config, runtime: runtime, options: options) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(a.status == 200)
                #expect(a.header("X-Hermes-Attempts") == "primary:502,secondary:200")
                let e = try await f.event(id: a.requestID)
                #expect(e["reason"] as? String == "fallback")
                #expect(e["profile"] as? String == "secondary")
            }
        }
    }

    @Test func connectionResetFallsBack() async throws {
        let reset = try ResettingListener()
        defer { reset.stop() }
        try await withFaultUpstream { up in
            var (config, runtime) = try setup(up, primaryMode: "ok")
            config.profiles["primary"] = FrontFixture.remote("primary", baseURL: "http://127.0.0.1:\(reset.port)/v1",
                                                              fallback: ["secondary"], cooldown: 30)
            try await withFront(config, runtime: runtime, options: options) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(a.status == 200)
                let attempts = a.header("X-Hermes-Attempts") ?? ""
                #expect(attempts.hasPrefix("primary:reset,") || attempts.hasPrefix("primary:error,"))
                #expect(attempts.hasSuffix("secondary:200"))
                #expect(reset.accepted >= 1)
            }
        }
    }

    @Test func slowFirstByteTimesOutAndFallsBack() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try setup(up, primaryMode: "slow", primaryTimeout: 0.5)
            try await withFront(config, runtime: runtime, options: options) { f in
                let started = ContinuousClock.now
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(a.status == 200)
                // The receipt says the 0.5 s timeout acted (the slow upstream would answer 200 after 2 s);
                // the clock only says nothing hung: tests in this process share two pool threads.
                #expect(a.header("X-Hermes-Attempts") == "primary:timeout,secondary:200")
                #expect(ContinuousClock.now - started < .seconds(10))
            }
        }
    }

    @Test func streamCutMidWayEndsWithAnErrorEventAndDone() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try setup(up, primaryMode: "cut")
            try await withFront(config, runtime: runtime, options: options) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi", stream: true), timeout: 10)
                #expect(a.status == 200)
                #expect(a.header("X-Hermes-Attempts") == "primary:200")
                #expect(a.body.contains(#""content":"one""#))
                #expect(a.body.contains(#""code":"stream_cut""#))
                #expect(a.body.hasSuffix("data: [DONE]\n\n"))
                // Nothing is retried after the first byte went out.
                #expect(up.hitCount("ok") == 0)
                let e = try await f.event(id: a.requestID)
                #expect(e["cut"] as? String != nil)
            }
        }
    }

    @Test func everyProfileFailingIsA502ListingAttempts() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try setup(up, primaryMode: "502", secondaryMode: "503")
            try await withFront(config, runtime: runtime, options: options) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(a.status == 502)
                #expect(a.header("X-Hermes-Attempts") == "primary:502,secondary:503")
                let error = a.json["error"] as? [String: Any]
                #expect(error?["code"] as? String == "all_upstreams_failed")
                #expect((error?["message"] as? String)?.contains("primary:502,secondary:503") == true)
                let e = try await f.event(id: a.requestID)
                #expect(e["status"] as? Int == 502)
            }
        }
    }

    @Test func localErrorRetriesOnceOnTheBurstProfileAndIsReported() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try setup(up, localMode: "503", primaryMode: "ok", defaultProfile: "local")
            try await withFront(config, runtime: runtime, options: options) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(a.status == 200)
                #expect(a.header("X-Hermes-Route") == "primary")
                #expect(a.header("X-Hermes-Reason") == "local_error")
                #expect(a.header("X-Hermes-Attempts") == "local:503,primary:200")
                #expect(runtime.reported.map(\.profile) == ["local"])
                #expect(runtime.reported.first?.status == 503)
            }
        }
    }

    @Test func localRefusedRetriesOnTheBurstProfile() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try setup(up, primaryMode: "ok", defaultProfile: "local")
            let closed = try LlamaServerProcess.freePort()
            runtime.set("local", LocalRuntimeStatus(phase: .ready, baseURL: "http://127.0.0.1:\(closed)", slotsTotal: 2, contextPerSlot: 512))
            try await withFront(config, runtime: runtime, options: options) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(a.status == 200)
                #expect(a.header("X-Hermes-Attempts") == "local:refused,primary:200")
                #expect(runtime.reported.first?.reason == "refused")
            }
        }
    }

    @Test func streamingPassesThroughChunkByChunk() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try setup(up, primaryMode: "gated")
            try await withFront(config, runtime: runtime, options: options) { f in
                // The upstream sends its last chunk only after the client has received the first one,
                // so this finishes only if the front forwards chunks as they come.
                var r = HTTPClientRequestBuilder.post(f.base + "/v1/chat/completions", chatBody("hi", stream: true))
                r.headers.add(name: "accept", value: "text/event-stream")
                let resp = try await http.execute(r, timeout: .seconds(10))
                #expect(resp.headers.first(name: "X-Hermes-Route") == "primary")
                var received = ""
                var gateOpened = false
                for try await chunk in resp.body {
                    received += String(buffer: chunk)
                    if !gateOpened, received.contains("first") {
                        #expect(!received.contains("last"))
                        gateOpened = true
                        up.openGate()
                    }
                }
                #expect(gateOpened)
                #expect(received.contains("last"))
                #expect(received.hasSuffix("data: [DONE]\n\n"))
            }
        }
    }

    @Test func probesGoToTheDefaultLocalServerOr404() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try setup(up, primaryMode: "ok", defaultProfile: "local")
            try await withFront(config, runtime: runtime, options: options) { f in
                let props = try await send(f.base + "/props", method: .GET)
                #expect(props.status == 200)
                #expect(props.json["total_slots"] as? Int == 2)
                for path in ["/version", "/api/tags", "/api/v1/models", "/v1/props"] {
                    let a = try await send(f.base + path, method: .GET)
                    #expect(a.status == 404)   // the fault upstream serves only /props
                }
                runtime.set("local", LocalRuntimeStatus(phase: .stopped))
                let down = try await send(f.base + "/props", method: .GET)
                #expect(down.status == 404)
                #expect((down.json["error"] as? [String: Any])?["code"] as? String == "not_found")
            }
        }
    }
}

/// A POST request for AHC.
enum HTTPClientRequestBuilder {
    static func post(_ url: String, _ json: String) -> HTTPClientRequest {
        var r = HTTPClientRequest(url: url)
        r.method = .POST
        r.headers.add(name: "content-type", value: "application/json")
        r.body = .bytes(ByteBuffer(string: json))
        return r
    }
}
