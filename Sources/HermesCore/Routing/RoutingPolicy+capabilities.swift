import Foundation

/// A profile routing passed over because it cannot take the request at all.
public struct SkippedProfile: Sendable, Equatable {
    public enum Why: String, Sendable, Equatable {
        /// It does not speak the request's API (`apis:`).
        case api
        /// The request carries an image and the model cannot see.
        case vision
    }

    public var profile: String
    public var why: Why

    public init(profile: String, why: Why) {
        self.profile = profile
        self.why = why
    }

    /// The receipt's entry: `cloud:skipped_api`.
    public var receipt: String { "\(profile):skipped_\(why.rawValue)" }
}

extension RoutedEndpoint {
    /// The API family an endpoint belongs to (what `apis:` lists).
    public var api: AgentAPI {
        switch self {
        case .chatCompletions, .completions, .embeddings: return .chat
        case .responses: return .responses
        case .messages, .messagesCountTokens: return .messages
        }
    }

    /// True for the Anthropic paths, whose errors have Anthropic's shape.
    public var isAnthropic: Bool { api == .messages }
}

extension RouteContext {
    public var api: AgentAPI { endpoint.api }
}

extension RoutingPolicy {
    /// Why `profile` cannot take `ctx` at all, nil when it can. The API comes first: a profile that does
    /// not speak it cannot even be asked.
    public func mismatch(_ profile: Profile, _ ctx: RouteContext) -> SkippedProfile.Why? {
        if !profile.speaks(ctx.api) { return .api }
        if ctx.hasImages && !profile.canSee { return .vision }
        return nil
    }

    /// Whether the forward loop may send `ctx` to the profile named `name` (a burst or fallback added
    /// while forwarding); nil when it may, else why not.
    public func mismatch(named name: String, _ ctx: RouteContext) -> SkippedProfile.Why? {
        guard let p = profiles[name] else { return nil }
        return mismatch(p, ctx)
    }

    /// Where a burst to `name` really goes: `name` itself when it is local (its own checks run next) or
    /// a remote that can take the request; else the first of its fallbacks that can. Every remote
    /// passed over is added to `skipped`. Nil when nothing on that path can take it.
    func burstTarget(_ name: String, _ ctx: RouteContext, visited: Set<String>, skipped: inout [SkippedProfile]) -> String? {
        guard let p = profiles[name], !visited.contains(name) else { return nil }
        if p.isLocal { return name }
        if let why = mismatch(p, ctx) {
            skipped.append(SkippedProfile(profile: name, why: why))
            for f in fallbackOrder(for: name) where !visited.contains(f) {
                guard let fp = profiles[f] else { continue }
                if let why = mismatch(fp, ctx) {
                    skipped.append(SkippedProfile(profile: f, why: why))
                    continue
                }
                return f
            }
            return nil
        }
        return name
    }

    /// A remote target's fallbacks that can take the request; the others go to `skipped`.
    func acceptingFallbacks(for name: String, _ ctx: RouteContext, skipped: inout [SkippedProfile]) -> [String] {
        var out: [String] = []
        for f in fallbackOrder(for: name) {
            if let fp = profiles[f], let why = mismatch(fp, ctx) {
                if !skipped.contains(where: { $0.profile == f }) { skipped.append(SkippedProfile(profile: f, why: why)) }
                continue
            }
            out.append(f)
        }
        return out
    }
}
