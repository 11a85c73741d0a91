import Foundation
import Testing

@testable import HermesCore

/// One request's tries as a value: what is tried next, what the receipt says and which effects the
/// front performs, step by step, without a network (the front's own tests cover the sending).
@Suite struct AttemptQueueTests {
    let policy = RoutingFixture.policy
    var profiles: [String: Profile] { RoutingFixture.profiles }

    func decision(_ prompt: String = "hello", status: LocalRuntimeStatus? = RoutingFixture.ready) throws -> RouteDecision {
        let snapshot = RuntimeSnapshot(statuses: status.map { ["coding-local": $0] } ?? [:], inFlight: ["coding-local": 0])
        return try policy.decide(RouteContext(promptText: prompt, maxTokens: 64), snapshot: snapshot)
    }

    func end(_ profile: String, _ kind: AttemptEnd.Kind, retryAfter: Double? = nil) -> AttemptEnd {
        AttemptEnd(profile: profile, isLocal: profiles[profile]?.isLocal ?? false, kind: kind, retryAfter: retryAfter)
    }

    /// Takes the next candidate, starts it, and returns its name.
    func take(_ q: inout AttemptQueue) -> String? {
        guard let c = q.next() else { return nil }
        q.start(c)
        return c.profile
    }

    @Test func aFailingLocalBurstsOnceThenTheRemotesFallBackInOrderAndAllFailedIsA502() throws {
        var q = AttemptQueue(decision: try decision(), first: "coding-local")
        let took1 = take(&q)
        #expect(took1 == "coding-local" && q.reason == "default")
        let local = q.failed(end("coding-local", .status(503)), profile: profiles["coding-local"]!, policy: policy, sent: true,
                             milliseconds: 12, halfOpen: false)
        #expect(local == [.releaseLocalSlot, .reportFailure(profile: "coding-local", httpStatus: 503, reason: "503"),
                          .countBurst(reason: "local_error")])
        #expect(q.burstTried)

        let took2 = take(&q)
        #expect(took2 == "coding-burst" && q.reason == "local_error")
        let refused = q.failed(end("coding-burst", .refused), profile: profiles["coding-burst"]!, policy: policy, sent: true,
                               milliseconds: 3, halfOpen: false)
        #expect(refused == [.countFallback(reason: "refused")], "one failure does not cool a remote down")
        let took3 = take(&q)
        #expect(took3 == "coding-burst-together" && q.reason == "fallback")
        let limited = q.failed(end("coding-burst-together", .status(429), retryAfter: 7), profile: profiles["coding-burst-together"]!,
                               policy: policy, sent: true, milliseconds: 4, halfOpen: false)
        #expect(limited == [.coolDown(profile: "coding-burst-together", seconds: 7, rateLimited: true), .countFallback(reason: "rate_limited")])
        let took4 = take(&q)
        #expect(took4 == "review-cheap")
        _ = q.failed(end("review-cheap", .timeout), profile: profiles["review-cheap"]!, policy: policy, sent: true, milliseconds: 9, halfOpen: false)
        let took5 = take(&q)
        #expect(took5 == nil, "nothing is tried twice")

        #expect(q.receipt == "coding-local:503,coding-burst:refused,coding-burst-together:429,review-cheap:timeout")
        #expect(q.reasons == ["local_error", "fallback", "fallback"])
        #expect(q.giveUp.status == 502 && q.giveUp.code == "all_upstreams_failed")
    }

    @Test func aLocalThatIsDownBurstsAsLocalDownWithoutAReportAndAnAnswerEndsTheReceipt() throws {
        var q = AttemptQueue(decision: try decision(), first: "coding-local")
        _ = take(&q)
        let down = q.failed(end("coding-local", .down), profile: profiles["coding-local"]!, policy: policy, sent: false,
                            milliseconds: 5, halfOpen: true)
        #expect(down == [.releaseLocalSlot, .countBurst(reason: "local_down")])
        #expect(q.tries.last == Attempt(profile: "coding-local", outcome: "down", milliseconds: 0), "a skip took no time and probed nothing")
        let took6 = take(&q)
        #expect(took6 == "coding-burst")
        q.answered("coding-burst", status: 200, milliseconds: 40, halfOpen: false)
        #expect(q.receipt == "coding-local:down,coding-burst:200")
        #expect(q.reason == "local_down")
    }

    @Test func everyTryRateLimitedIsA429WithTheShortestRetryAfter() throws {
        // A route sends "architecture change" to coding-burst, with its fallbacks.
        var q = AttemptQueue(decision: try decision("an architecture change"), first: "coding-burst")
        for (name, after) in [("coding-burst", 30.0), ("coding-burst-together", 4.2), ("review-cheap", 60.0)] {
            let took7 = take(&q)
            #expect(took7 == name)
            _ = q.failed(end(name, .status(429), retryAfter: after), profile: profiles[name]!, policy: policy, sent: true,
                         milliseconds: 1, halfOpen: false)
        }
        let took8 = take(&q)
        #expect(took8 == nil)
        #expect(q.giveUp == GiveUp(status: 429, type: "requests", code: "rate_limit_exceeded", retryAfter: 5))
    }

    @Test func aStoppedOnDemandServerIsReloadedOnceAndTriedAgainFirst() throws {
        var q = AttemptQueue(decision: try decision(), first: "coding-local")
        _ = take(&q)
        let cut = end("coding-local", .reset)
        let reloads = q.reloads(after: cut, load: .onDemand, phaseNow: .stopped)
        #expect(reloads)
        q.retryAfterReload(cut, milliseconds: 8)
        let took9 = take(&q)
        #expect(took9 == "coding-local", "the same profile, before any burst")
        #expect(!q.burstTried)
        let again = q.reloads(after: cut, load: .onDemand, phaseNow: .stopped)
        #expect(!again, "once per request")
        _ = q.failed(cut, profile: profiles["coding-local"]!, policy: policy, sent: true, milliseconds: 2, halfOpen: false)
        let took10 = take(&q)
        #expect(took10 == "coding-burst")
        #expect(q.receipt == "coding-local:reset,coding-local:reset")
    }

    @Test func aBadToolCallIsPromotedOnceToTheBurstProfileAndItsFallbacks() throws {
        var q = AttemptQueue(decision: try decision(), first: "coding-local")
        _ = take(&q)
        let effects = q.promote(profiles["coding-local"]!, policy: policy, milliseconds: 30)
        #expect(effects == [.releaseLocalSlot, .countBurst(reason: "bad_tool_call")])
        #expect(q.promoted)
        #expect(q.remaining.map(\.profile) == ["coding-local", "coding-burst", "coding-burst-together", "review-cheap"], "the one in progress, then the burst")
        let took11 = take(&q)
        #expect(took11 == "coding-burst" && q.reason == "bad_tool_call")
        q.answered("coding-burst", status: 200, milliseconds: 50, halfOpen: false)
        #expect(q.receipt == "coding-local:bad_tool_call,coding-burst:200")
    }

    @Test func aSkippedCandidateKeepsTheReasonAndAHalfOpenProbeSaysSo() throws {
        let d = try decision("an architecture change")
        var q = AttemptQueue(decision: d, first: "coding-burst")
        let next = q.next()
        let first = try #require(next)
        q.skip(first.profile, why: .api)
        #expect(q.reason == d.reason && q.reasons.isEmpty, "a skipped candidate's reason is not the request's")
        let took12 = take(&q)
        #expect(took12 == "coding-burst-together")
        #expect(q.reason == "fallback")
        q.markHalfOpen()
        q.answered("coding-burst-together", status: 200, milliseconds: 10, halfOpen: true)
        #expect(q.reason == AttemptPlan.halfOpenReason && q.tries.last?.halfOpen == true)
        #expect(q.receipt == "coding-burst:skipped_api,coding-burst-together:200")
    }

    @Test func theLastCloudChoiceOverBudgetSendsTheRequestBackToTheLocalItOverflowedFrom() throws {
        // Every slot busy past the queue wait: the policy bursts it (overflow) from coding-local.
        let snapshot = RuntimeSnapshot(statuses: ["coding-local": RoutingFixture.ready], inFlight: ["coding-local": 4],
                                       waitedForSlot: ["coding-local"])
        let d = try policy.decide(RouteContext(promptText: "hello", maxTokens: 64), snapshot: snapshot)
        #expect(d.hops.first?.reason == .overflow && d.target == "coding-burst", "\(d.explain())")
        var q = AttemptQueue(decision: d, first: "coding-burst")
        let hit = BudgetHit(scope: .total, period: .month, limit: Money(nanodollars: 10), spent: Money(nanodollars: 10),
                            resetsAt: Date(timeIntervalSince1970: 0))
        for name in ["coding-burst", "coding-burst-together"] {
            let took13 = take(&q)
            #expect(took13 == name)
            _ = q.failed(end(name, .overBudget, retryAfter: 60), profile: profiles[name]!, policy: policy, sent: false,
                         milliseconds: 0, halfOpen: false, budget: hit)
            #expect(q.remaining.dropFirst().first?.profile != "coding-local", "not while a cloud choice is left")
        }
        let took14 = take(&q)
        #expect(took14 == "review-cheap")
        _ = q.failed(end("review-cheap", .overBudget, retryAfter: 60), profile: profiles["review-cheap"]!, policy: policy, sent: false,
                     milliseconds: 0, halfOpen: false, budget: hit)
        #expect(q.budgetHits.count == 3)
        let took15 = take(&q)
        #expect(took15 == "coding-local" && q.reason == "budget")
        let took16 = take(&q)
        #expect(took16 == nil)
        #expect(q.receipt == "coding-burst:budget,coding-burst-together:budget,review-cheap:budget")
    }
}
