import AsyncHTTPClient
import Foundation
import HermesCore
import HermesFront
import HermesTestSupport
import NIOCore
import Testing

/// The request path end to end on a live front: typed decoding (400s that name the field), byte
/// splicing, 429 passed on as 429, receipts on every answer, the first-byte commit and unhealthy-but-alive
/// servers tried first.
@Suite(.serialized) struct FrontRequestPathTests {
    func local(_ up: FaultUpstream, mode: String = "ok", phase: LocalRuntimeStatus.Phase = .ready, burst: String? = "cloud",
               context: Int = 4096) throws -> (HermesConfig, MutableRuntimeState)
    {
        let config = try FrontFixture.config([
            FrontFixture.local("local", burst: burst, context: context * 2, slots: 2, reserve: 16),
            FrontFixture.remote("cloud", baseURL: up.url("ok") + "/v1", model: "cloud-model"),
        ], default: "local")
        let runtime = MutableRuntimeState(["local": LocalRuntimeStatus(phase: phase, baseURL: up.url(mode), slotsTotal: 2, contextPerSlot: context)])
        return (config, runtime)
    }

    @Test func hugeMaxTokensIsANamed400AndEveryReceipt() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try local(up)
            try await withFront(config, runtime: runtime) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: #"{"messages":[{"role":"user","content":"hi"}],"max_tokens":1e30}"#)
                #expect(a.status == 400)
                let error = a.json["error"] as? [String: Any]
                #expect(error?["code"] as? String == "invalid_value")
                #expect(error?["param"] as? String == "max_tokens")
                #expect(a.header("X-Hermes-Route") == "none")
                #expect(!a.requestID.isEmpty)
                let e = try await f.event(id: a.requestID)
                #expect(e["reason"] as? String == "invalid_request")
                #expect(e["bytes_out"] as? Int == a.body.utf8.count)
                // The front is still there.
                #expect(try await send(f.base + "/v1/chat/completions", json: chatBody("hi")).status == 200)
                #expect(up.hitCount("ok") == 1)
            }
        }
    }

    @Test func unknownEndpointIsJSONWithReceiptAndEvent() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try local(up)
            try await withFront(config, runtime: runtime) { f in
                let a = try await send(f.base + "/v1/nothing", json: "{}")
                #expect(a.status == 404)
                #expect((a.json["error"] as? [String: Any])?["code"] as? String == "not_found")
                #expect(a.header("X-Hermes-Route") == "none")
                let e = try await f.event(id: a.requestID)
                #expect(e["reason"] as? String == "unknown_endpoint")
                #expect(e["bytes_out"] as? Int == a.body.utf8.count)
                let h = try await send(f.base + "/health", method: .GET)
                #expect(h.header("X-Hermes-Route") == "none" && !h.requestID.isEmpty)
            }
        }
    }

    @Test func noMaxTokensFromTheClientNoneIsAdded() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try local(up, context: 600)
            try await withFront(config, runtime: runtime) { f in
                let body = #"{ "messages" : [{"role":"user","content":"caf\u00e9 \/ hi"}], "temperature": 1.50 }"#
                let a = try await send(f.base + "/v1/chat/completions", json: body)
                #expect(a.status == 200)
                #expect(up.lastBody == body)
            }
        }
    }

    @Test func clampAndRemoteModelAreSplicedIntoTheOriginalBytes() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try local(up, context: 600)
            try await withFront(config, runtime: runtime) { f in
                let body = #"{"model":"x","messages":[{"role":"user","content":"hi \u00e9"}],"max_tokens":  65536 ,"n_predict":5e1}"#
                let a = try await send(f.base + "/v1/chat/completions", json: body)
                #expect(a.status == 200)
                let clamp = try #require(Int(up.lastBody.split(separator: "\"max_tokens\":  ")[1].prefix { $0.isNumber }))
                #expect(clamp < 600)
                #expect(up.lastBody == body.replacingOccurrences(of: "65536", with: String(clamp)))
                // The cloud gets its model, everything else as sent.
                let c = try await send(f.base + "/v1/chat/completions", json: body, headers: ["X-Hermes-Profile": "cloud"])
                #expect(c.status == 200)
                #expect(up.lastBody == body.replacingOccurrences(of: #""model":"x""#, with: #""model":"cloud-model""#))
            }
        }
    }

    @Test func everyAttemptRateLimitedIsA429WithTheShortestRetryAfter() async throws {
        try await withFaultUpstream { up in
            let config = try FrontFixture.config([
                // Retry-After 60 and 30: the second request comes well within both, however slow the box.
                FrontFixture.remote("a", baseURL: up.url("429x60") + "/v1", fallback: ["b"], cooldown: 30),
                FrontFixture.remote("b", baseURL: up.url("429x30") + "/v1", cooldown: 30),
            ], default: "a")
            try await withFront(config, runtime: MutableRuntimeState()) { f in
                let r = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(r.status == 429)
                #expect(r.header("Retry-After") == "30")
                #expect((r.json["error"] as? [String: Any])?["code"] as? String == "rate_limit_exceeded")
                #expect(r.header("X-Hermes-Attempts") == "a:429,b:429")
                // Both cooling down after their 429: still a 429, not a 502.
                let again = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(again.status == 429)
                #expect(again.header("X-Hermes-Attempts") == "a:cooldown,b:cooldown")
                #expect((1...30).contains(Int(again.header("Retry-After") ?? "") ?? 99), "\(again.header("Retry-After") ?? "none")")
            }
        }
    }

    @Test func aServerDyingAfterItsHeadIsRetriedOnTheBurstProfile() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try local(up, mode: "headdie")
            try await withFront(config, runtime: runtime) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi", stream: true))
                #expect(a.status == 200)
                #expect(a.header("X-Hermes-Route") == "cloud")
                #expect(a.header("X-Hermes-Reason") == "local_error")
                #expect(a.header("X-Hermes-Attempts")?.hasPrefix("local:") == true)
                #expect(a.body.contains("[DONE]"))
                #expect(up.hitCount("headdie") == 1)
            }
        }
    }

    @Test func unhealthyButAliveIsTriedLocallyFirst() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try local(up, phase: .unhealthy)
            try await withFront(config, runtime: runtime) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(a.header("X-Hermes-Route") == "local")
                runtime.set("local", LocalRuntimeStatus(phase: .unhealthy, baseURL: up.url("503"), slotsTotal: 2, contextPerSlot: 4096))
                let b = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(b.header("X-Hermes-Route") == "cloud")
                #expect(b.header("X-Hermes-Reason") == "local_error")
                runtime.set("local", LocalRuntimeStatus(phase: .failed))
                let c = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(c.header("X-Hermes-Reason") == "local_down")
            }
        }
    }

    @Test func aServerStoppingWhileRequestsWaitForSlotsSendsThemOnAtOnce() async throws {
        try await withFaultUpstream { up in
            let config = try FrontFixture.config([
                FrontFixture.local("local", burst: "cloud", context: 8192, slots: 1, reserve: 16, queueWait: 30),
                FrontFixture.remote("cloud", baseURL: up.url("ok") + "/v1", model: "cloud-model"),
            ], default: "local")
            let runtime = MutableRuntimeState(["local": LocalRuntimeStatus(phase: .ready, baseURL: up.url("gated"), slotsTotal: 1, contextPerSlot: 8192)])
            try await withFront(config, runtime: runtime) { f in
                // One stream holds the only slot; a second request waits for it.
                async let holder = send(f.base + "/v1/chat/completions", json: chatBody("hold", stream: true))
                while up.hitCount("gated") == 0 { try await Task.sleep(for: .milliseconds(10)) }
                let t0 = ContinuousClock.now
                async let waiter = send(f.base + "/v1/chat/completions", json: chatBody("wait"))
                try await Task.sleep(for: .milliseconds(200))
                runtime.set("local", LocalRuntimeStatus(phase: .restarting))
                let w = try await waiter
                #expect(w.status == 200)
                #expect(w.header("X-Hermes-Route") == "cloud")
                #expect(w.header("X-Hermes-Reason") == "local_down")
                #expect(ContinuousClock.now - t0 < .seconds(10))
                up.openGate()
                _ = try await holder
            }
        }
    }
}
