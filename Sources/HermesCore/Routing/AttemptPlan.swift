import Foundation

/// How one try of one profile ended without any byte of its answer reaching the client.
public struct AttemptEnd: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The upstream answered with this status, which is not one to pass on (see `UpstreamPolicy`).
        case status(Int)
        /// No answer: connection refused, no head or first byte in time, connection closed, other.
        case refused, timeout, reset, error
        /// A local server that is not serving (stopped, starting, restarting, failed).
        case down
        /// A remote skipped while it cools down; `rateLimited` when a 429 put it there.
        case cooldown(rateLimited: Bool)
        /// A remote skipped because a budget it counts against is spent (treated like a rate limit).
        case overBudget

        /// The receipt's outcome word (`503`, `refused`, `down`, `cooldown`).
        public var outcome: String {
            switch self {
            case .status(let s): return String(s)
            case .refused: return "refused"
            case .timeout: return "timeout"
            case .reset: return "reset"
            case .error: return "error"
            case .down: return "down"
            case .cooldown: return "cooldown"
            case .overBudget: return "budget"
            }
        }
    }

    public var profile: String
    public var isLocal: Bool
    public var kind: Kind
    /// Seconds from the answer's `Retry-After` (a 429's), or the cooldown left for a skipped remote.
    public var retryAfter: Double?

    public init(profile: String, isLocal: Bool, kind: Kind, retryAfter: Double? = nil) {
        self.profile = profile
        self.isLocal = isLocal
        self.kind = kind
        self.retryAfter = retryAfter
    }

    /// The receipt's outcome word (`503`, `refused`, `down`, `cooldown`).
    public var outcome: String { kind.outcome }

    /// Reads a receipt outcome word back (the transport's classification of a failure).
    public static func kind(outcome: String) -> Kind {
        switch outcome {
        case "refused": return .refused
        case "timeout": return .timeout
        case "reset": return .reset
        case "down": return .down
        default: return Int(outcome).map(Kind.status) ?? .error
        }
    }

    var isRateLimited: Bool {
        switch kind {
        case .status(429): return true
        case .cooldown(let r): return r
        case .overBudget: return true
        default: return false
        }
    }
}

/// What the front does after a failed attempt: pure, so the whole chain is testable without a network.
public struct NextStep: Sendable, Equatable {
    /// Tell the supervisor its server failed a real request (local only; a `down` server is known).
    public var reportFailure = false
    /// Try these next, before the rest of the queue: the burst profile, then its fallbacks.
    public var insert: [Candidate] = []
    /// Park the remote for this many seconds.
    public var cooldown: Double?
    /// Why a remote's next fallback is tried, for the metric (`rate_limited`, `status_5xx`, `refused`).
    public var fallbackReason: String?

    public init() {}
}

/// One profile in the attempt order, and why it is tried (nil: the decision's own target).
public struct Candidate: Sendable, Equatable {
    public var profile: String
    public var reason: String?

    public init(profile: String, reason: String? = nil) {
        self.profile = profile
        self.reason = reason
    }
}

/// The answer when every candidate failed.
public struct GiveUp: Sendable, Equatable {
    public var status: Int
    /// OpenAI `error.type` and `error.code`.
    public var type: String
    public var code: String
    /// Whole seconds for the `Retry-After` header.
    public var retryAfter: Int?
}

public enum AttemptPlan {
    /// Whether a failed local attempt is sent again to the same profile after loading it: an on-demand
    /// server that is stopped now (its idle unload or eviction began as this request was sent, so it was
    /// refused, cut, or found down) is loaded again and tried once more, before any burst. A server
    /// that crashed is restarting, not stopped, and bursts as before.
    public static func reloadsAndRetries(after end: AttemptEnd, load: LoadMode?, phaseNow: LocalRuntimeStatus.Phase?,
                                         alreadyReloaded: Bool) -> Bool
    {
        guard end.isLocal, !alreadyReloaded, load == .onDemand, phaseNow == .stopped else { return false }
        switch end.kind {
        case .down, .refused, .reset: return true
        default: return false
        }
    }

    /// After `end`: a local profile bursts once (to its `burst` profile, then that profile's fallbacks),
    /// as `local_down` when it was not serving and `local_error` when it failed; a remote cools down
    /// (for its Retry-After on a 429, else its `cooldown` once `failures` in a row reach its
    /// `cooldown_after`: see `cools`) and the queue moves on to its fallbacks.
    public static func next(after end: AttemptEnd, profile: Profile, policy: RoutingPolicy, burstTried: Bool,
                            failures: Int = 1) -> NextStep {
        var step = NextStep()
        if end.isLocal {
            if end.kind != .down { step.reportFailure = true }
            if !burstTried, let burst = profile.burst, policy.profiles[burst] != nil {
                let reason = end.kind == .down ? BurstReason.localDown : .localError
                step.insert = [Candidate(profile: burst, reason: reason.rawValue)]
                    + policy.fallbackOrder(for: burst).map { Candidate(profile: $0, reason: "fallback") }
            }
            return step
        }
        guard let remote = profile.openai else { return step }
        switch end.kind {
        case .cooldown:
            step.fallbackReason = "cooldown"
        case .overBudget:
            step.fallbackReason = "budget"
        case .status(let s):
            step.fallbackReason = s == 429 ? "rate_limited" : "status_5xx"
        default:
            step.fallbackReason = end.outcome
        }
        if cools(after: end, failures: failures, settings: remote) {
            step.cooldown = UpstreamPolicy.cooldown(retryAfter: end.kind == .status(429) ? end.retryAfter : nil, settings: remote)
        }
        return step
    }

    /// The answer once the queue is empty: 429 `rate_limit_exceeded` with the shortest Retry-After when
    /// every attempt was rate-limited (the client should back off, not retry at once); 503
    /// `local_down` when nothing could be tried because local servers are down; else 502.
    public static func giveUp(_ ends: [AttemptEnd]) -> GiveUp {
        if !ends.isEmpty, ends.allSatisfy(\.isRateLimited) {
            let shortest = ends.compactMap(\.retryAfter).min()
            let budget = ends.contains { $0.kind == .overBudget }
            return GiveUp(status: 429, type: "requests", code: budget ? "budget_exceeded" : "rate_limit_exceeded",
                          retryAfter: shortest.map { Int(exactly: min(3600, max(0, $0)).rounded(.up)) ?? 1 })
        }
        if !ends.isEmpty, ends.allSatisfy({ $0.kind == .down }) {
            return GiveUp(status: 503, type: "server_error", code: "local_down", retryAfter: nil)
        }
        return GiveUp(status: 502, type: "upstream_error", code: "all_upstreams_failed", retryAfter: nil)
    }
}
