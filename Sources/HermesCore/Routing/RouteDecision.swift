import Foundation

/// How routing picked the profile before any burst check (steps 1-3 of docs/routing.md).
public enum RouteSelection: Sendable, Equatable {
    /// `X-Hermes-Profile` named it.
    case header
    /// The body's `model` named a profile or an alias.
    case model
    /// A route in `runtime.yaml` matched; `index` counts from 0 in evaluation order.
    case route(index: Int, name: String)
    /// Nothing claimed the request.
    case defaultProfile

    /// The receipt's reason before any burst: `explicit`, `route:NAME` or `default`.
    public var reason: String {
        switch self {
        case .header, .model: return "explicit"
        case .route(_, let name): return "route:\(name)"
        case .defaultProfile: return "default"
        }
    }
}

/// One move from a local profile to its burst profile.
public struct BurstHop: Sendable, Equatable {
    public var from: String
    public var to: String
    public var reason: BurstReason
    /// What the check saw, for people (`need 1900 > limit 1024`).
    public var detail: String
}

/// A routing decision that explains itself. Pure data: the front carries it out, `route --explain` prints it.
public struct RouteDecision: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// Send to this profile (then its fallbacks, for a remote one).
        case forward(profile: String)
        /// A route's `action: confirm`: answer 409 with the reason, never forward.
        case confirm(reason: String)
        /// The front must find something out, then decide again with it in the snapshot.
        case needsExactCount(profile: String)
        case needsSlot(profile: String, wait: Double)
        /// An on-demand profile is not loaded: ask the runtime to load it (`wait`: until ready, else
        /// only until admitted), put the answer in `RuntimeSnapshot.loads`, and decide again.
        case needsLoad(profile: String, wait: Bool)
        /// No profile can take it (a local profile is down and has no burst profile).
        case unavailable(profile: String, reason: BurstReason)
    }

    /// The profile steps 1-3 chose (nil for a confirm route).
    public var selected: String?
    public var selection: RouteSelection
    /// The matched rule's label, when a route matched.
    public var matchedRule: String?
    public var outcome: Outcome
    /// The receipt's reason: the last burst reason, else the selection's reason.
    public var reason: String
    public var hops: [BurstHop]
    /// For a local target: the `max_tokens` to send instead of the client's (nil = unchanged).
    public var maxTokens: Int?
    /// The prompt tokens the last check used, and whether they came from the server's tokenizer.
    public var promptTokens: Int
    public var promptTokensExact: Bool
    /// For a remote target: the profiles tried in order after it (its `fallback` list, flattened).
    public var fallbacks: [String]
    /// One line per step, for `route --explain` and debugging.
    public var steps: [String]
    /// For `unavailable`: what a person should read in the 503 (the memory numbers for `no_memory`).
    public var detail: String?
    /// Profiles on the way that cannot take the request (its API, its images), in the order met; the
    /// receipt lists them as `NAME:skipped_api` / `NAME:skipped_vision`.
    public var skipped: [SkippedProfile] = []

    /// The profile requests go to, when forwarding.
    public var target: String? {
        if case .forward(let p) = outcome { return p }
        return nil
    }

    /// A multi-line account of the decision.
    public func explain() -> String {
        var lines = steps.enumerated().map { "\($0.offset + 1). \($0.element)" }
        switch outcome {
        case .forward(let p):
            lines.append("=> \(p) (reason \(reason))" + (fallbacks.isEmpty ? "" : "; then \(fallbacks.joined(separator: ", "))"))
        case .confirm(let r): lines.append("=> 409 confirm: \(r)")
        case .needsExactCount(let p): lines.append("=> count the prompt's tokens on \(p), then decide again")
        case .needsSlot(let p, let w): lines.append("=> wait up to \(w)s for a free slot on \(p), then decide again")
        case .needsLoad(let p, let wait):
            lines.append("=> load \(p) on demand" + (wait ? " and wait until it is ready" : " (requests meanwhile go to its burst profile)") + ", then decide again")
        case .unavailable(let p, let r) where r == .api || r == .vision:
            lines.append("=> \(r == .api ? 404 : 400): neither \(p) nor a profile it bursts or falls back to can take it (\(r.rawValue))")
        case .unavailable(let p, let r): lines.append("=> 503: \(p) cannot take it (\(r.rawValue)) and has no burst profile" + (detail.map { ": \($0)" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}

/// What the front knows right now about local servers and remotes; the decision reads only this.
public struct RuntimeSnapshot: Sendable, Equatable {
    /// Local profiles' statuses (missing = never started).
    public var statuses: [String: LocalRuntimeStatus]
    /// The front's own requests in flight per profile.
    public var inFlight: [String: Int]
    /// Exact prompt token counts, by the profile whose server counted them.
    public var exactPromptTokens: [String: Int]
    /// Local profiles the front already waited `queue_wait` on: busy now means overflow.
    public var waitedForSlot: Set<String>
    /// What the runtime answered when asked to load an on-demand profile (see `Outcome.needsLoad`).
    public var loads: [String: LoadAnswer]
    /// The profile whose slot this request already holds (it waited for one and got it): counted in
    /// `inFlight`, and free to this request. The one place a request's own reservation is accounted.
    public var holding: String?

    /// `profile`'s requests in flight other than this one.
    public func othersInFlight(_ profile: String) -> Int {
        max(0, (inFlight[profile] ?? 0) - (holding == profile ? 1 : 0))
    }

    public init(statuses: [String: LocalRuntimeStatus] = [:], inFlight: [String: Int] = [:],
                exactPromptTokens: [String: Int] = [:], waitedForSlot: Set<String> = [], loads: [String: LoadAnswer] = [:])
    {
        self.loads = loads
        self.statuses = statuses
        self.inFlight = inFlight
        self.exactPromptTokens = exactPromptTokens
        self.waitedForSlot = waitedForSlot
    }
}
