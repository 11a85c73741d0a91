import Foundation

/// The routing policy compiled from a config: route patterns are compiled once, here, not per request.
///
/// Order (docs/routing.md): explicit (`X-Hermes-Profile`, or `model` naming a profile or alias), then
/// `routes:` first match, then the default profile; for a local target, the burst checks.
public struct RoutingPolicy: Sendable {
    /// A route with its patterns compiled.
    public struct CompiledRoute: @unchecked Sendable {
        // @unchecked: NSRegularExpression is immutable after init and documented as thread-safe.
        public let route: Route
        public let index: Int
        public let label: String
        let platform: Set<String>?
        let sourceKind: Set<String>?
        let toolsetsAny: Set<String>?
        let models: Set<String>?
        let goal: [NSRegularExpression]?
        let prompt: [NSRegularExpression]?
    }

    public let profiles: [String: Profile]
    public let aliases: [String: String]
    public let defaultProfile: String?
    public let routes: [CompiledRoute]
    /// Some route matches on the prompt text (`prompt_matches`): only then does the front build the
    /// prompt's `String` for `RouteContext.promptText` (see `RouteContext.init(request:headers:promptText:)`).
    public let readsPromptText: Bool

    /// Most burst/fallback chains are one or two long; this only stops a misconfigured loop.
    static let maxHops = 8

    /// Compiles the routes. A pattern that does not compile (the loader already reports it) never matches.
    public init(config: HermesConfig) {
        self.init(profiles: config.profiles, front: config.runtime.front)
    }

    public init(profiles: [String: Profile], front: FrontSettings) {
        self.profiles = profiles
        self.aliases = front.aliases
        self.defaultProfile = front.defaultProfile
        func lower(_ list: [String]?) -> Set<String>? { list.map { Set($0.map { $0.lowercased() }) } }
        func regexes(_ list: [String]?) -> [NSRegularExpression]? {
            list.map { $0.compactMap { try? NSRegularExpression(pattern: $0, options: [.caseInsensitive]) } }
        }
        let routes = front.routes.enumerated().map { i, r in
            CompiledRoute(route: r, index: i, label: r.name ?? "#\(i + 1)", platform: lower(r.match.platform),
                          sourceKind: lower(r.match.sourceKind), toolsetsAny: lower(r.match.toolsetsAny),
                          models: r.match.model.map(Set.init), goal: regexes(r.match.goalMatches),
                          prompt: regexes(r.match.promptMatches))
        }
        self.routes = routes
        self.readsPromptText = routes.contains { $0.prompt != nil }
    }

    /// A profile's name from a profile name or an alias.
    public func resolve(_ name: String) -> String? {
        if profiles[name] != nil { return name }
        if let t = aliases[name], profiles[t] != nil { return t }
        return nil
    }

    // MARK: steps 1-3

    /// The first route whose every set condition holds, or nil.
    public func firstMatch(_ ctx: RouteContext) -> CompiledRoute? {
        routes.first { matches($0, ctx) }
    }

    func matches(_ r: CompiledRoute, _ ctx: RouteContext) -> Bool {
        // Cheap conditions first; the prompt regex (possibly over 100K characters) last.
        if let want = r.platform { guard let v = ctx.platform, want.contains(v.lowercased()) else { return false } }
        if let want = r.sourceKind { guard let v = ctx.sourceKind, want.contains(v.lowercased()) else { return false } }
        if let want = r.toolsetsAny { guard ctx.toolsets.contains(where: { want.contains($0.lowercased()) }) else { return false } }
        if let want = r.models { guard let m = ctx.model, want.contains(m) else { return false } }
        if let want = r.route.match.hasTools, want != ctx.hasTools { return false }
        if let goal = r.goal {
            guard let g = ctx.goal, Self.anyMatch(goal, g) else { return false }
        }
        if let prompt = r.prompt {
            guard Self.anyMatch(prompt, ctx.promptText) else { return false }
        }
        return true
    }

    static func anyMatch(_ patterns: [NSRegularExpression], _ text: String) -> Bool {
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        return patterns.contains { $0.firstMatch(in: text, options: [], range: range) != nil }
    }

    /// Steps 1-3 only. Throws `RequestError` (400 `unknown_profile`) when `X-Hermes-Profile` names no
    /// profile, and (500 `no_default_profile`) when nothing claims the request and no default is set.
    public func select(_ ctx: RouteContext) throws -> (profile: String?, selection: RouteSelection, rule: CompiledRoute?) {
        if let h = ctx.explicitProfile {
            guard let p = resolve(h) else {
                throw RequestError(status: 400, code: "unknown_profile",
                                   message: "X-Hermes-Profile names '\(h)', which is not a profile or an alias (see GET /v1/models)")
            }
            return (p, .header, nil)
        }
        if let m = ctx.model, let p = resolve(m) { return (p, .model, nil) }
        if let r = firstMatch(ctx) {
            switch r.route.target {
            case .profile(let name): return (resolve(name) ?? name, .route(index: r.index, name: r.label), r)
            case .confirm: return (nil, .route(index: r.index, name: r.label), r)
            }
        }
        guard let d = defaultProfile, let p = resolve(d) else {
            throw RequestError(status: 500, code: "no_default_profile", type: "server_error",
                               message: "no route matched and front.default names no profile")
        }
        return (p, .defaultProfile, nil)
    }

    // MARK: the whole decision

    /// Steps 1-3, then the burst checks along the burst chain, over a snapshot of runtime state.
    ///
    /// A decision may ask for more (`needsExactCount`, `needsSlot`): the caller finds it out, adds it to
    /// the snapshot and decides again. Nothing here waits, counts or calls anything.
    ///
    /// - Parameter explain: build the human-readable `steps` (the front passes false: it never prints
    ///   them, and formatting them is most of a decision's cost).
    public func decide(_ ctx: RouteContext, snapshot: RuntimeSnapshot = RuntimeSnapshot(), explain: Bool = true) throws -> RouteDecision {
        var steps = Steps(enabled: explain)
        var decision = try decide(ctx, snapshot: snapshot, steps: &steps)
        decision.steps = steps.lines
        return decision
    }

    func decide(_ ctx: RouteContext, snapshot: RuntimeSnapshot, steps: inout Steps) throws -> RouteDecision {
        let (selected, selection, rule) = try select(ctx)
        switch selection {
        case .header: steps.append("X-Hermes-Profile names \(selected ?? "?")")
        case .model: steps.append("model '\(ctx.model ?? "")' names profile \(selected ?? "?")")
        case .route(_, let name):
            steps.append("route \(name) matched (\(rule.map { $0.route.source.description } ?? "runtime.yaml"))")
        case .defaultProfile: steps.append("no explicit choice and no route matched: default profile \(selected ?? "?")")
        }
        var decision = RouteDecision(
            selected: selected, selection: selection, matchedRule: rule?.label,
            outcome: .forward(profile: selected ?? ""), reason: selection.reason, hops: [], maxTokens: nil,
            promptTokens: ctx.estimatedPromptTokens, promptTokensExact: false, fallbacks: [], steps: [])

        guard var current = selected else {
            if case .confirm(let reason)? = rule?.route.target {
                let text = reason ?? "route \(rule?.label ?? "") asks for confirmation"
                decision.outcome = .confirm(reason: text)
                decision.reason = "confirm:\(rule?.label ?? "")"
                steps.append("action confirm: answered 409, not forwarded")
            }
            return decision
        }

        var visited: Set<String> = [current]
        while true {
            guard let profile = profiles[current] else {
                decision.outcome = .forward(profile: current)
                return decision
            }
            guard let settings = profile.llamaServer else {
                if let why = mismatch(profile, ctx) {
                    // Only a remote chosen by steps 1-3 gets here: a burst never lands on one that cannot take it.
                    decision.skipped.append(SkippedProfile(profile: current, why: why))
                    steps.append("\(current) cannot take it (\(why.rawValue)): its fallbacks")
                    let rest = acceptingFallbacks(for: current, ctx, skipped: &decision.skipped)
                    guard let next = rest.first else {
                        let reason: BurstReason = why == .api ? .api : .vision
                        decision.outcome = .unavailable(profile: current, reason: reason)
                        decision.reason = reason.rawValue
                        return decision
                    }
                    decision.outcome = .forward(profile: next)
                    decision.fallbacks = Array(rest.dropFirst())
                    return decision
                }
                decision.outcome = .forward(profile: current)
                decision.fallbacks = acceptingFallbacks(for: current, ctx, skipped: &decision.skipped)
                steps.append("\(current) is remote (kind openai)")
                return decision
            }
            var burst: (BurstReason, String)?
            if let why = mismatch(profile, ctx) {
                // A server that cannot take the request at all bursts before any load or local check.
                burst = why == .api
                    ? (.api, "\(current) does not speak \(ctx.api.rawValue) (apis: \(profile.apis.map(\.rawValue).joined(separator: ", ")))")
                    : (.vision, "the request carries an image and \(current) cannot see (no mmproj or vision: true)")
            } else if let load = Self.onDemandState(settings: settings, status: snapshot.statuses[current], answer: snapshot.loads[current]) {
                switch load {
                case .ask(let wait):
                    decision.outcome = .needsLoad(profile: current, wait: wait)
                    steps.append("\(current) is on demand and not loaded: loading it" + (wait ? " (requests wait)" : ""))
                    return decision
                case .burst(let reason, let detail):
                    burst = (reason, detail)
                }
            }
            // A load answer that sends it on decides alone; otherwise the usual checks.
            if burst == nil {
                let exact = snapshot.exactPromptTokens[current]
                let tokens = exact ?? ctx.estimatedPromptTokens
                decision.promptTokens = tokens
                decision.promptTokensExact = exact != nil
                let verdict = BurstCheck.checkLocal(
                    settings: settings, status: snapshot.statuses[current], promptTokens: tokens, exact: exact != nil,
                    maxTokens: ctx.maxTokens, inFlight: snapshot.othersInFlight(current))

                switch verdict {
                case .fits(let clamp):
                    decision.outcome = .forward(profile: current)
                    decision.maxTokens = clamp
                    let count = exact != nil ? "\(tokens) tokens (exact)" : "~\(tokens) tokens (estimate)"
                    steps.append("\(current) is ready and the prompt fits: \(count)"
                        + (clamp.map { ", max_tokens clamped to \($0)" } ?? ""))
                    return decision
                case .down(let phase):
                    burst = (.localDown, "\(current) is \(phase?.rawValue ?? "not started")")
                case .tooLong(let need, let limit):
                    let what = exact != nil ? "exact" : "estimate"
                    burst = (.context, "\(current): prompt + output reserve = \(need) tokens (\(what)) > limit \(limit)")
                case .nearLimit(let need, let limit):
                    if settings.burst == nil {
                        decision.outcome = .forward(profile: current)
                        steps.append("\(current): ~\(need) tokens near limit \(limit), but no burst profile: kept")
                        return decision
                    }
                    decision.outcome = .needsExactCount(profile: current)
                    steps.append("\(current): ~\(need) tokens is near limit \(limit): counting exactly")
                    return decision
                case .busy(let inFlight, let slots):
                    if settings.burst == nil {
                        decision.outcome = .forward(profile: current)
                        steps.append("\(current): all \(slots) slots busy, no burst profile: queued at the server")
                        return decision
                    }
                    if !snapshot.waitedForSlot.contains(current) {
                        decision.outcome = .needsSlot(profile: current, wait: settings.effectiveQueueWait)
                        steps.append("\(current): \(inFlight) in flight on \(slots) slots: waiting for a slot")
                        return decision
                    }
                    burst = (.overflow, "\(current): all \(slots) slots still busy after \(settings.effectiveQueueWait)s")
                }
            }

            guard let (reason, detail) = burst else { return decision }
            guard let next = settings.burst.flatMap({ burstTarget($0, ctx, visited: visited, skipped: &decision.skipped) }),
                decision.hops.count < Self.maxHops
            else {
                if [.api, .vision, .localDown, .loading, .noMemory].contains(reason) {
                    decision.outcome = .unavailable(profile: current, reason: reason)
                    decision.detail = detail
                    decision.reason = reason.rawValue
                    steps.append(detail + " and there is no burst profile to take it")
                } else {
                    // Context or overflow without a burst target: the server itself is the best left.
                    decision.outcome = .forward(profile: current)
                    steps.append(detail + ", but no burst profile: kept")
                }
                return decision
            }
            decision.hops.append(BurstHop(from: current, to: next, reason: reason, detail: detail))
            decision.reason = reason.rawValue
            steps.append(detail + ": burst to \(next) (\(reason.rawValue))")
            visited.insert(next)
            current = next
        }
    }

    /// What an on-demand profile's load state means for routing; nil when it is not on demand, or is
    /// loaded (or sick after loading: the usual checks decide then).
    enum OnDemandStep: Equatable {
        /// Ask the runtime to load it; `wait` per `while_loading`.
        case ask(wait: Bool)
        case burst(BurstReason, String)
    }

    static func onDemandState(settings: LlamaServerSettings, status: LocalRuntimeStatus?, answer: LoadAnswer?) -> OnDemandStep? {
        guard settings.effectiveLoad == .onDemand else { return nil }
        switch status?.phase {
        case nil, .stopped?, .starting?, .failed?: break
        case .ready?, .unhealthy?, .restarting?: return nil
        }
        switch answer {
        case nil: return .ask(wait: settings.effectiveWhileLoading == .wait)
        case .ready?: return nil
        case .loading?: return .burst(.loading, "the model is loading")
        case .noMemory(let numbers)?: return .burst(.noMemory, "no memory to load it: \(numbers)")
        case .failed(let why)?: return .burst(.localDown, "it could not be loaded: \(why)")
        }
    }

    /// A remote's fallbacks in the order tried: its own list, each entry followed by that entry's own
    /// fallbacks (depth first), without repeats or the profile itself.
    public func fallbackOrder(for name: String) -> [String] {
        var out: [String] = []
        var seen: Set<String> = [name]
        func walk(_ n: String, depth: Int) {
            guard depth < Self.maxHops, let p = profiles[n] else { return }
            for f in p.fallback where !seen.contains(f) && profiles[f] != nil {
                seen.insert(f)
                out.append(f)
                walk(f, depth: depth + 1)
            }
        }
        walk(name, depth: 0)
        return out
    }
}

/// Explanation lines, built only when asked for: autoclosures keep the formatting off the hot path.
struct Steps {
    let enabled: Bool
    var lines: [String] = []

    mutating func append(_ line: @autoclosure () -> String) {
        if enabled { lines.append(line()) }
    }
}
