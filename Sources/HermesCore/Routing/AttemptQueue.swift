import Foundation

/// One try of one profile, as listed in `X-Hermes-Attempts` and the request's event.
public struct Attempt: Sendable, Equatable {
    public var profile: String
    /// The HTTP status, or `refused`, `timeout`, `reset`, `error`, `cooldown`, `down`, `budget`,
    /// `skipped_WHY`, `bad_tool_call`.
    public var outcome: String
    public var milliseconds: Double
    /// Tried although it was cooling down: every candidate left was (see `AttemptPlan.probesHalfOpen`).
    public var halfOpen: Bool

    public init(profile: String, outcome: String, milliseconds: Double, halfOpen: Bool = false) {
        self.profile = profile
        self.outcome = outcome
        self.milliseconds = milliseconds
        self.halfOpen = halfOpen
    }

    public var receipt: String { "\(profile):\(outcome)" }
}

/// One request's tries as a value: which profile to try next, and what each outcome means for the queue,
/// the receipt and the effects that follow. The front sends the attempts and performs the effects it
/// is handed (`RoutingFront.forward`); everything it decides is here, driven by table tests.
///
/// The rules: the decision's target first, then its fallbacks; a failed local profile bursts once (its
/// burst profile, then that one's fallbacks); an on-demand server stopped under the request is loaded
/// again and tried once more before that; a local answer with a bad tool call is promoted once to the
/// burst profile; a remote skipped for a spent budget, when it was the last choice, sends the request
/// back to the local profile it overflowed from; nothing is tried twice otherwise.
public struct AttemptQueue: Sendable, Equatable {
    /// What the front does after a failure, in order.
    public enum Effect: Sendable, Equatable {
        /// Tell the supervisor its server failed a real request.
        case reportFailure(profile: String, httpStatus: Int?, reason: String)
        /// Count a burst (`hermes_front_bursts_total{reason}`).
        case countBurst(reason: String)
        /// Park a remote, and count the cooldowns now active.
        case coolDown(profile: String, seconds: Double, rateLimited: Bool)
        /// Count a fallback (`hermes_front_fallbacks_total{reason}`).
        case countFallback(reason: String)
        /// Give back the local slot this request held.
        case releaseLocalSlot
    }

    public private(set) var candidates: [Candidate]
    /// The next candidate's place in `candidates`.
    public private(set) var position = 0
    /// The receipt: profiles routing passed over, then every try.
    public private(set) var tries: [Attempt]
    /// How each failed try ended, for the answer when all fail (`AttemptPlan.giveUp`).
    public private(set) var ends: [AttemptEnd] = []
    /// The reason of the try in progress (the decision's, then `local_error`, `fallback`, ...).
    public private(set) var reason: String
    /// Every reason along the way, for the event.
    public private(set) var reasons: [String]
    /// Budgets that kept a remote from being tried (their reset times go in the 429).
    public private(set) var budgetHits: [BudgetHit] = []
    public private(set) var burstTried = false
    public private(set) var promoted = false
    public private(set) var reloaded = false
    private let hops: [BurstHop]

    public init(decision: RouteDecision, first: String) {
        candidates = [Candidate(profile: first)] + decision.fallbacks.map { Candidate(profile: $0, reason: "fallback") }
        tries = decision.skipped.map { Attempt(profile: $0.profile, outcome: "skipped_\($0.why.rawValue)", milliseconds: 0) }
        reason = decision.reason
        reasons = decision.hops.map(\.reason.rawValue)
        hops = decision.hops
    }

    /// The next profile to try, or nil when every one was. `start` it, or `skip` it.
    public mutating func next() -> Candidate? {
        guard position < candidates.count else { return nil }
        position += 1
        return candidates[position - 1]
    }

    /// The candidate is tried: its reason becomes the request's.
    public mutating func start(_ c: Candidate) {
        if let r = c.reason {
            reason = r
            reasons.append(r)
        }
    }

    /// The candidates not yet tried, the one in progress first.
    public var remaining: ArraySlice<Candidate> { candidates[max(0, position - 1)...] }

    /// A burst or fallback added while forwarding that may not take this request (its API, an image).
    public mutating func skip(_ profile: String, why: SkippedProfile.Why) {
        tries.append(Attempt(profile: profile, outcome: "skipped_\(why.rawValue)", milliseconds: 0))
    }

    /// The try in progress goes to a cooling remote because every candidate left is cooling.
    public mutating func markHalfOpen() {
        reason = AttemptPlan.halfOpenReason
        reasons.append(reason)
    }

    /// It answered: the receipt's last line.
    public mutating func answered(_ profile: String, status: Int, milliseconds: Double, halfOpen: Bool) {
        tries.append(Attempt(profile: profile, outcome: String(status), milliseconds: milliseconds, halfOpen: halfOpen))
    }

    /// Whether to load `end`'s profile again and send the request there once more, before anything else
    /// (`AttemptPlan.reloadsAndRetries`). When it says yes the front asks for the load, then calls
    /// `retryAfterReload` if the model is ready, or `failed` with the same end if not.
    public mutating func reloads(after end: AttemptEnd, load: LoadMode?, phaseNow: LocalRuntimeStatus.Phase?) -> Bool {
        guard AttemptPlan.reloadsAndRetries(after: end, load: load, phaseNow: phaseNow, alreadyReloaded: reloaded) else { return false }
        reloaded = true
        return true
    }

    /// The model is back: the receipt keeps the failed try, and the same profile is next.
    public mutating func retryAfterReload(_ end: AttemptEnd, milliseconds: Double) {
        tries.append(Attempt(profile: end.profile, outcome: end.outcome, milliseconds: milliseconds))
        candidates.insert(Candidate(profile: end.profile), at: position)
    }

    /// A local answer had a bad tool call and nothing reached the client: the burst profile (then its
    /// fallbacks) gets the request, once.
    public mutating func promote(_ profile: Profile, policy: RoutingPolicy, milliseconds: Double) -> [Effect] {
        promoted = true
        tries.append(Attempt(profile: profile.name, outcome: BurstReason.badToolCall.rawValue, milliseconds: milliseconds))
        if let burst = profile.burst {
            candidates.insert(contentsOf: [Candidate(profile: burst, reason: BurstReason.badToolCall.rawValue)]
                + policy.fallbackOrder(for: burst).map { Candidate(profile: $0, reason: "fallback") }, at: position)
        }
        return [.releaseLocalSlot, .countBurst(reason: BurstReason.badToolCall.rawValue)]
    }

    /// A try that ended before any byte reached the client: skipped (`sent: false`: down, cooling, over
    /// budget) or failed. Returns the effects; the queue holds what comes next (`AttemptPlan.next`).
    /// `failures`: the remote's failures in a row with this one (its cooldown's count).
    public mutating func failed(_ end: AttemptEnd, profile: Profile, policy: RoutingPolicy, sent: Bool, milliseconds: Double,
                                halfOpen: Bool, failures: Int = 1, budget: BudgetHit? = nil) -> [Effect]
    {
        tries.append(Attempt(profile: profile.name, outcome: end.outcome, milliseconds: sent ? milliseconds : 0, halfOpen: sent && halfOpen))
        if let hit = budget {
            budgetHits.append(hit)
            // Every cloud choice is spent: back to the local profile the request left, if it can take it.
            if position == candidates.count, let local = BudgetCheck.localRefuge(hops), !candidates.contains(where: { $0.profile == local }) {
                candidates.append(Candidate(profile: local, reason: "budget"))
            }
        }
        ends.append(end)
        let step = AttemptPlan.next(after: end, profile: profile, policy: policy, burstTried: burstTried, failures: failures)
        var effects: [Effect] = []
        if profile.isLocal { effects.append(.releaseLocalSlot) }
        if step.reportFailure {
            effects.append(.reportFailure(profile: profile.name, httpStatus: Int(end.outcome), reason: end.outcome))
        }
        if let first = step.insert.first {
            burstTried = true
            effects.append(.countBurst(reason: first.reason ?? BurstReason.localError.rawValue))
            candidates.insert(contentsOf: step.insert, at: position)
        }
        if let seconds = step.cooldown {
            effects.append(.coolDown(profile: profile.name, seconds: seconds, rateLimited: end.kind == .status(429)))
        }
        if let why = step.fallbackReason { effects.append(.countFallback(reason: why)) }
        return effects
    }

    /// The answer when every candidate failed.
    public var giveUp: GiveUp { AttemptPlan.giveUp(ends) }

    /// `X-Hermes-Attempts`.
    public var receipt: String { tries.map(\.receipt).joined(separator: ",") }
}
