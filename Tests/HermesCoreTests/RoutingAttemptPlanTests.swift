import Foundation
import Testing

@testable import HermesCore

/// What the front does after a failed attempt, decided without a network.
@Suite struct RoutingAttemptPlanTests {
    let policy = RoutingFixture.policy
    var local: Profile { RoutingFixture.profiles["coding-local"]! }
    var burst: Profile { RoutingFixture.profiles["coding-burst"]! }
    var lonely: Profile { RoutingFixture.profiles["lonely"]! }

    func end(_ profile: String, local: Bool, _ kind: AttemptEnd.Kind, retryAfter: Double? = nil) -> AttemptEnd {
        AttemptEnd(profile: profile, isLocal: local, kind: kind, retryAfter: retryAfter)
    }

    @Test func aFailingLocalBurstsOnceAsLocalErrorAndIsReported() {
        let step = AttemptPlan.next(after: end("coding-local", local: true, .status(503)), profile: local, policy: policy, burstTried: false)
        #expect(step.reportFailure)
        #expect(step.insert.map(\.profile) == ["coding-burst", "coding-burst-together", "review-cheap"])
        #expect(step.insert.first?.reason == "local_error")
        #expect(step.insert.dropFirst().allSatisfy { $0.reason == "fallback" })
        #expect(step.cooldown == nil)
        let again = AttemptPlan.next(after: end("coding-local", local: true, .refused), profile: local, policy: policy, burstTried: true)
        #expect(again.insert.isEmpty)
        #expect(again.reportFailure)
    }

    @Test func onlyAnOnDemandServerStoppedUnderTheRequestIsReloadedAndTriedOnce() {
        func reloads(_ kind: AttemptEnd.Kind, local: Bool = true, load: LoadMode? = .onDemand,
                     phase: LocalRuntimeStatus.Phase? = .stopped, again: Bool = false) -> Bool {
            AttemptPlan.reloadsAndRetries(after: end("w", local: local, kind), load: load, phaseNow: phase, alreadyReloaded: again)
        }
        #expect(reloads(.refused) && reloads(.reset) && reloads(.down))
        #expect(!reloads(.refused, again: true), "once per request")
        #expect(!reloads(.timeout) && !reloads(.status(503)) && !reloads(.error), "a server that answered or hung is not unloading")
        #expect(!reloads(.refused, phase: .restarting) && !reloads(.refused, phase: .ready) && !reloads(.refused, phase: nil))
        #expect(!reloads(.refused, load: .manual) && !reloads(.refused, load: .always) && !reloads(.refused, load: nil))
        #expect(!reloads(.refused, local: false))
    }

    @Test func aLocalThatIsDownBurstsAsLocalDownWithoutAReport() {
        let step = AttemptPlan.next(after: end("coding-local", local: true, .down), profile: local, policy: policy, burstTried: false)
        #expect(!step.reportFailure)
        #expect(step.insert.first == Candidate(profile: "coding-burst", reason: "local_down"))
        let none = AttemptPlan.next(after: end("lonely", local: true, .timeout), profile: lonely, policy: policy, burstTried: false)
        #expect(none.insert.isEmpty && none.reportFailure)
    }

    @Test func aRemoteCoolsDownForItsRetryAfterOrItsCooldown() {
        let limited = AttemptPlan.next(after: end("coding-burst", local: false, .status(429), retryAfter: 7), profile: burst, policy: policy, burstTried: false)
        #expect(limited.cooldown == 7)
        #expect(limited.fallbackReason == "rate_limited")
        #expect(limited.insert.isEmpty)   // the fallbacks are already queued after it
        let broken = AttemptPlan.next(after: end("coding-burst", local: false, .status(502), retryAfter: 7), profile: burst, policy: policy,
                                      burstTried: false, failures: 3)
        #expect(broken.cooldown == OpenAISettings().effectiveCooldown)
        let blip = AttemptPlan.next(after: end("coding-burst", local: false, .status(502)), profile: burst, policy: policy, burstTried: false)
        #expect(blip.cooldown == nil && blip.fallbackReason == "status_5xx", "one 502 does not cool it")
        #expect(broken.fallbackReason == "status_5xx")
        let absurd = AttemptPlan.next(after: end("coding-burst", local: false, .status(429), retryAfter: 1e12), profile: burst, policy: policy, burstTried: false)
        #expect(absurd.cooldown == 3600)
        let skipped = AttemptPlan.next(after: end("coding-burst", local: false, .cooldown(rateLimited: true), retryAfter: 3), profile: burst, policy: policy, burstTried: false)
        #expect(skipped.cooldown == nil && skipped.fallbackReason == "cooldown")
        let refused = AttemptPlan.next(after: end("coding-burst", local: false, .refused), profile: burst, policy: policy, burstTried: false)
        #expect(refused.fallbackReason == "refused")
    }

    @Test func giveUpIs429OnlyWhenEveryAttemptWasRateLimited() {
        let all429 = AttemptPlan.giveUp([end("a", local: false, .status(429), retryAfter: 20),
                                         end("b", local: false, .cooldown(rateLimited: true), retryAfter: 4.2),
                                         end("c", local: false, .status(429))])
        #expect(all429 == GiveUp(status: 429, type: "requests", code: "rate_limit_exceeded", retryAfter: 5))
        let noHint = AttemptPlan.giveUp([end("a", local: false, .status(429))])
        #expect(noHint.status == 429 && noHint.retryAfter == nil)
        let mixed = AttemptPlan.giveUp([end("a", local: false, .status(429), retryAfter: 1), end("b", local: false, .status(502))])
        #expect(mixed.status == 502 && mixed.code == "all_upstreams_failed")
        let coolingAfterErrors = AttemptPlan.giveUp([end("a", local: false, .cooldown(rateLimited: false), retryAfter: 9)])
        #expect(coolingAfterErrors.status == 502)
        let down = AttemptPlan.giveUp([end("coding-local", local: true, .down)])
        #expect(down.status == 503 && down.code == "local_down")
        #expect(AttemptPlan.giveUp([]).status == 502)
    }

    @Test func outcomesReadBack() {
        for kind: AttemptEnd.Kind in [.status(503), .refused, .timeout, .reset, .down, .error] {
            #expect(AttemptEnd.kind(outcome: end("x", local: true, kind).outcome) == kind)
        }
        #expect(AttemptEnd.kind(outcome: "nonsense") == .error)
    }

    @Test func unhealthyButAliveIsServingOthersAreDown() {
        let settings = LlamaServerSettings()
        for phase in LocalRuntimeStatus.Phase.allCases {
            let s = LocalRuntimeStatus(phase: phase, baseURL: "http://h", slotsTotal: 4, contextPerSlot: 2048)
            let verdict = BurstCheck.checkLocal(settings: settings, status: s, promptTokens: 10, exact: false, maxTokens: nil, inFlight: 0)
            if phase == .ready || phase == .unhealthy {
                #expect(verdict == .fits(maxTokens: nil), "\(phase)")
            } else {
                #expect(verdict == .down(phase), "\(phase)")
            }
        }
    }

    @Test func retryAfterDatesAreReadByHandAndNonASCIIIsRefused() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)   // Tue, 14 Nov 2023 22:13:20 GMT
        #expect(UpstreamPolicy.retryAfter("Tue, 14 Nov 2023 22:13:50 GMT", now: now) == 30)
        #expect(UpstreamPolicy.httpDate("Thu, 01 Jan 1970 00:00:00 GMT") == Date(timeIntervalSince1970: 0))
        #expect(UpstreamPolicy.httpDate("Tue, 29 Feb 2028 12:00:00 GMT") == Date(timeIntervalSince1970: 1_835_438_400))
        #expect(UpstreamPolicy.retryAfter("Tue, 14 Nov 2023 22:13:50 FMT", now: now) == nil)
        #expect(UpstreamPolicy.retryAfter("Tue, 99 Nov 2023 22:13:50 GMT", now: now) == nil)
        // What the fuzz target found: Foundation's DateFormatter trapped on this (a crash from a header).
        let found = try #require(Bundle.module.url(forResource: "crash-762ab091b5b548f0423d4a859208cf34f83153a4", withExtension: nil,
                                                   subdirectory: "Fixtures/fuzz-upstream")).path
        let bytes = try #require(FileManager.default.contents(atPath: found))
        let header = String(decoding: bytes.prefix { $0 != 0x0A }, as: UTF8.self)
        #expect(UpstreamPolicy.retryAfter(header, now: now) == nil)
    }
}
