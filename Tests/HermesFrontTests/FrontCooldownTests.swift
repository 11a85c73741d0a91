import Foundation
import HermesCore
import HermesFront
import HermesTestSupport
import Testing

/// Cooldowns that never lock the last door, against the fault upstream: a remote cools down only after
/// `cooldown_after` failures in a row, and when every candidate left cools down after failures the one
/// that comes back first is tried anyway (a half-open probe), which the receipt and the event say.
@Suite(.serialized) struct FrontCooldownTests {
    static func cloud(_ url: String, fallback: [String]? = nil) -> Profile {
        FrontFixture.remote("cloud", baseURL: url + "/v1", fallback: fallback, cooldown: 30)
    }

    @Test func oneBadGatewayThenTheSoleProfileAnswersAtOnce() async throws {
        try await withFaultUpstream { up in
            let config = try FrontFixture.config([Self.cloud(up.url("fails1"))], default: "cloud")
            try await withFront(config, runtime: MutableRuntimeState([:])) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(a.status == 502 && a.header("X-Hermes-Attempts") == "cloud:502")
                let b = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(b.status == 200, "one 502 does not lock the door: \(b.body)")
                #expect(b.header("X-Hermes-Attempts") == "cloud:200")
                #expect(b.header("X-Hermes-Reason") == "default")
                #expect(up.hitCount("fails1") == 2)
            }
        }
    }

    @Test func aSoleProfileThatFailsThreeTimesCoolsThenIsProbedUntilItRecovers() async throws {
        try await withFaultUpstream { up in
            // Four 502s: three make a streak that cools it; the fourth is a failed probe; then it answers.
            let config = try FrontFixture.config([Self.cloud(up.url("fails4"))], default: "cloud")
            try await withFront(config, runtime: MutableRuntimeState([:])) { f in
                for _ in 0..<3 {
                    let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                    #expect(a.status == 502 && a.header("X-Hermes-Attempts") == "cloud:502")
                    #expect(a.header("X-Hermes-Reason") == "default")
                }
                // Cooling now (30 s), but it is the only door: probed, and this probe fails.
                let probe = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(probe.status == 502 && probe.header("X-Hermes-Attempts") == "cloud:502")
                #expect(probe.header("X-Hermes-Reason") == "half_open")
                // Probed again; it has recovered.
                let back = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(back.status == 200, "\(back.body)")
                #expect(back.header("X-Hermes-Reason") == "half_open")
                let e = try await f.event(id: back.requestID)
                let attempts = e["attempts"] as? [[String: Any]] ?? []
                #expect(attempts.first?["half_open"] as? Bool == true, "\(e)")
                #expect((e["reasons"] as? [String])?.contains("half_open") == true)
                // The probe's success lifted the cooldown: an ordinary request again.
                let after = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(after.status == 200 && after.header("X-Hermes-Reason") == "default")
                #expect(up.hitCount("fails4") == 6, "every request called it: none was refused without a try")
            }
        }
    }

    @Test func aDownFirstProviderCoolsAfterThreeFailuresAndTheSecondServesMeanwhile() async throws {
        try await withFaultUpstream { up in
            let down = "http://127.0.0.1:\(TestEnvironment.freePort())"
            let config = try FrontFixture.config([
                Self.cloud(down, fallback: ["backup"]),
                FrontFixture.remote("backup", baseURL: up.url("ok") + "/v1", cooldown: 30),
            ], default: "cloud")
            try await withFront(config, runtime: MutableRuntimeState([:])) { f in
                for _ in 0..<3 {
                    let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                    #expect(a.status == 200 && a.header("X-Hermes-Attempts") == "cloud:refused,backup:200", "\(a.headers)")
                }
                // Cooling: skipped without a try while the backup is open (no probe: another door is open).
                let b = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(b.status == 200 && b.header("X-Hermes-Attempts") == "cloud:cooldown,backup:200")
                #expect(b.header("X-Hermes-Reason") == "fallback")
                #expect(up.hitCount("ok") == 4)
            }
        }
    }
}
