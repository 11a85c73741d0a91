import Foundation
import Testing

@testable import HermesCore

/// Profiles and routes built in code, the shape of the shipped example (article sections 6 and 9).
enum RoutingFixture {
    static let src = SourceLocation(file: "runtime.yaml")

    static func local(_ name: String, burst: String? = nil, context: Int? = 8192, slots: Int? = 4,
                      contextOver: Int? = nil, reserve: Int? = nil, queueWait: Double? = nil) -> Profile
    {
        var s = LlamaServerSettings()
        s.port = 8080
        s.context = context
        s.slots = slots
        s.burst = burst
        s.contextOver = contextOver
        s.outputReserve = reserve
        s.queueWait = queueWait
        return Profile(name: name, kind: .llamaServer(s), source: SourceLocation(file: "runtimes/\(name).yaml"))
    }

    static func remote(_ name: String, fallback: [String]? = nil) -> Profile {
        var s = OpenAISettings()
        s.baseURL = "https://example.invalid/v1"
        s.model = "\(name)-model"
        s.fallback = fallback
        return Profile(name: name, kind: .openai(s), source: SourceLocation(file: "runtimes/\(name).yaml"))
    }

    static func route(_ name: String?, _ target: Route.Target, _ build: (inout RouteMatch) -> Void) -> Route {
        var m = RouteMatch()
        build(&m)
        return Route(match: m, target: target, name: name, source: src)
    }

    static var profiles: [String: Profile] {
        let list = [
            local("coding-local", burst: "coding-burst"),
            remote("coding-burst", fallback: ["coding-burst-together"]),
            remote("coding-burst-together", fallback: ["review-cheap"]),
            remote("review-cheap"),
            local("lonely", burst: nil, context: 2048, slots: 2),
        ]
        return Dictionary(uniqueKeysWithValues: list.map { ($0.name, $0) })
    }

    static var front: FrontSettings {
        var f = FrontSettings()
        f.defaultProfile = "coding-local"
        f.aliases = ["local": "coding-local", "cloud": "coding-burst"]
        f.routes = [
            route("cron-is-cheap", .profile("review-cheap")) { $0.sourceKind = ["cron"] },
            route("security", .confirm(reason: "security work needs a person")) { $0.goalMatches = ["security review"] },
            route("discord-strangers", .profile("coding-burst")) { $0.platform = ["discord"]; $0.sourceKind = ["stranger"] },
            route("web-tools", .profile("coding-burst")) { $0.toolsetsAny = ["browser", "web"] },
            route("big-model", .profile("coding-burst")) { $0.model = ["gpt-big"] },
            route("no-tools-summaries", .profile("review-cheap")) { $0.hasTools = false; $0.promptMatches = [#"\bsummari[sz]e\b"#] },
            route(nil, .profile("coding-burst")) { $0.promptMatches = ["architecture change"] },
        ]
        return f
    }

    static var policy: RoutingPolicy { RoutingPolicy(profiles: profiles, front: front) }

    static let ready = LocalRuntimeStatus(phase: .ready, baseURL: "http://127.0.0.1:8080", slotsTotal: 4, contextPerSlot: 2048, slotsBusy: 0)
}

@Suite struct RoutingSelectionTests {
    let policy = RoutingFixture.policy

    @Test func headerWinsOverEverything() throws {
        let ctx = RouteContext(explicitProfile: "cloud", sourceKind: "cron", model: "local")
        let (p, sel, rule) = try policy.select(ctx)
        #expect(p == "coding-burst")
        #expect(sel == .header)
        #expect(rule == nil)
    }

    @Test func unknownHeaderProfileIsA400() {
        #expect(throws: RequestError.self) { try policy.select(RouteContext(explicitProfile: "nope")) }
        do {
            _ = try policy.select(RouteContext(explicitProfile: "nope"))
        } catch let e as RequestError {
            #expect(e.status == 400)
            #expect(e.code == "unknown_profile")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func modelNamingAProfileOrAliasIsExplicit() throws {
        #expect(try policy.select(RouteContext(sourceKind: "cron", model: "coding-burst")).selection == .model)
        let (p, sel, _) = try policy.select(RouteContext(model: "cloud"))
        #expect(p == "coding-burst")
        #expect(sel == .model)
    }

    @Test func unknownModelFallsThroughToRoutesAndDefault() throws {
        let (p, sel, _) = try policy.select(RouteContext(model: "gpt-4o"))
        #expect(p == "coding-local")
        #expect(sel == .defaultProfile)
    }

    @Test func sourceKindRoute() throws {
        let (p, sel, rule) = try policy.select(RouteContext(sourceKind: "CRON"))
        #expect(p == "review-cheap")
        #expect(sel == .route(index: 0, name: "cron-is-cheap"))
        #expect(rule?.label == "cron-is-cheap")
    }

    @Test func confirmRouteSelectsNoProfile() throws {
        let d = try policy.decide(RouteContext(goal: "Please do a Security Review of auth.py"))
        #expect(d.selected == nil)
        #expect(d.outcome == .confirm(reason: "security work needs a person"))
        #expect(d.reason == "confirm:security")
        #expect(d.target == nil)
    }

    @Test func compoundMatchNeedsEveryCondition() throws {
        #expect(try policy.select(RouteContext(platform: "discord")).selection == .defaultProfile)
        #expect(try policy.select(RouteContext(sourceKind: "stranger")).selection == .defaultProfile)
        let (p, sel, _) = try policy.select(RouteContext(platform: "discord", sourceKind: "stranger"))
        #expect(p == "coding-burst")
        #expect(sel == .route(index: 2, name: "discord-strangers"))
    }

    @Test func toolsetsAnyMatchesOneOfThem() throws {
        #expect(try policy.select(RouteContext(toolsets: ["terminal", "web"])).selection == .route(index: 3, name: "web-tools"))
        #expect(try policy.select(RouteContext(toolsets: ["terminal"])).selection == .defaultProfile)
    }

    @Test func modelCondition() throws {
        #expect(try policy.select(RouteContext(model: "gpt-big")).selection == .route(index: 4, name: "big-model"))
    }

    @Test func hasToolsAndPromptTogether() throws {
        let summary = RouteContext(hasTools: false, promptText: "Please summarize this file")
        #expect(try policy.select(summary).selection == .route(index: 5, name: "no-tools-summaries"))
        let withTools = RouteContext(hasTools: true, promptText: "Please summarize this file")
        #expect(try policy.select(withTools).selection == .defaultProfile)
    }

    @Test func unnamedRouteIsLabelledByPosition() throws {
        let (_, sel, _) = try policy.select(RouteContext(promptText: "an ARCHITECTURE CHANGE across 60 files"))
        #expect(sel == .route(index: 6, name: "#7"))
        #expect(sel.reason == "route:#7")
    }

    @Test func firstMatchWins() throws {
        // Both cron-is-cheap and web-tools match; the earlier one wins.
        let (p, _, _) = try policy.select(RouteContext(sourceKind: "cron", toolsets: ["web"]))
        #expect(p == "review-cheap")
    }

    /// The front builds the prompt's String only for a policy with a `prompt_matches` route; a context
    /// built from the decoded request then routes on it as one built with the text always did.
    @Test func promptTextIsBuiltOnlyWhenARouteReadsIt() throws {
        #expect(policy.readsPromptText)
        var f = RoutingFixture.front
        f.routes = f.routes.filter { $0.match.promptMatches == nil }
        #expect(!RoutingPolicy(profiles: RoutingFixture.profiles, front: f).readsPromptText)
        let body = Array(#"{"messages":[{"role":"user","content":"plan the architecture change"}]}"#.utf8)
        let decoded = try RequestDecoder.decode(.chatCompletions, body: body)
        let with = RouteContext(request: decoded, headers: [:], promptText: policy.readsPromptText)
        #expect(with.promptText == "plan the architecture change")
        #expect(try policy.select(with).profile == "coding-burst")
        #expect(RouteContext(request: decoded, headers: [:], promptText: false).promptText.isEmpty)
    }

    @Test func noDefaultIsAServerError() {
        var f = RoutingFixture.front
        f.defaultProfile = nil
        let policy = RoutingPolicy(profiles: RoutingFixture.profiles, front: f)
        #expect(throws: RequestError.self) { try policy.select(RouteContext()) }
    }

    @Test func legacyShorthandRoutesComeAfterExplicitOnes() throws {
        let root = try TestRootForRouting(runtime: """
            front:
              default: coding-local
              platforms: { telegram: review-cheap }
              by_source: { owner: { profile: coding-burst } }
              routes:
                - match: { platform: telegram }
                  profile: coding-burst
            """)
        let config = try ConfigLoader.load(paths: root.paths, environment: ["HOME": "/home/test"])
        let policy = RoutingPolicy(config: config)
        // The explicit route for telegram wins over the shorthand.
        #expect(try policy.select(RouteContext(platform: "telegram")).profile == "coding-burst")
        let owner = try policy.select(RouteContext(sourceKind: "owner"))
        #expect(owner.profile == "coding-burst")
        #expect(owner.selection == .route(index: 2, name: "by_source.owner"))
    }
}

/// A tiny config root for the legacy-shorthand test (remote profiles only: no model files needed).
struct TestRootForRouting {
    let url: URL
    init(runtime: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("hermes-routing-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url.appendingPathComponent("runtimes"), withIntermediateDirectories: true)
        try runtime.write(to: url.appendingPathComponent("runtime.yaml"), atomically: true, encoding: .utf8)
        for name in ["coding-local", "coding-burst", "review-cheap"] {
            try "kind: openai\nbase_url: https://example.invalid/v1\n".write(
                to: url.appendingPathComponent("runtimes/\(name).yaml"), atomically: true, encoding: .utf8)
        }
    }
    var paths: RuntimePaths { RuntimePaths(configRoot: url, stateDirectory: url.appendingPathComponent("state")) }
}

@Suite struct RoutingDecisionTests {
    let policy = RoutingFixture.policy

    func snapshot(_ status: LocalRuntimeStatus? = RoutingFixture.ready, inFlight: Int = 0,
                  exact: Int? = nil, waited: Bool = false) -> RuntimeSnapshot
    {
        RuntimeSnapshot(statuses: status.map { ["coding-local": $0] } ?? [:], inFlight: ["coding-local": inFlight],
                        exactPromptTokens: exact.map { ["coding-local": $0] } ?? [:],
                        waitedForSlot: waited ? ["coding-local"] : [])
    }

    @Test func shortPromptStaysLocal() throws {
        let d = try policy.decide(RouteContext(promptText: "hello", maxTokens: 64), snapshot: snapshot())
        #expect(d.outcome == .forward(profile: "coding-local"))
        #expect(d.reason == "default")
        #expect(d.hops.isEmpty)
        #expect(d.maxTokens == nil)
        #expect(d.explain().contains("=> coding-local"))
    }

    @Test func localDownBurstsAndRemoteGetsItsFallbacks() throws {
        for phase in [LocalRuntimeStatus.Phase.stopped, .starting, .restarting, .failed, .unhealthy] {
            let d = try policy.decide(RouteContext(promptText: "hi"), snapshot: snapshot(LocalRuntimeStatus(phase: phase)))
            #expect(d.outcome == .forward(profile: "coding-burst"))
            #expect(d.reason == "local_down")
            #expect(d.hops == [BurstHop(from: "coding-local", to: "coding-burst", reason: .localDown, detail: "coding-local is \(phase.rawValue)")])
            #expect(d.fallbacks == ["coding-burst-together", "review-cheap"])
        }
        // Never started at all.
        let d = try policy.decide(RouteContext(promptText: "hi"), snapshot: snapshot(nil))
        #expect(d.reason == "local_down")
    }

    @Test func localDownWithoutBurstIsUnavailable() throws {
        let d = try policy.decide(RouteContext(explicitProfile: "lonely"), snapshot: RuntimeSnapshot())
        #expect(d.outcome == .unavailable(profile: "lonely", reason: .localDown))
        #expect(d.explain().contains("503"))
    }

    @Test func contextBurstsOnTheLivePerSlotContext() throws {
        // 2048 per slot; estimate 2000 + reserve 64 is over 1.4 x? No: 2064 < 2867, so it is near.
        // 4000 prompt tokens + 64 is clearly over: burst without counting.
        let big = RouteContext(maxTokens: 64, estimatedPromptTokens: 4000)
        let d = try policy.decide(big, snapshot: snapshot())
        #expect(d.outcome == .forward(profile: "coding-burst"))
        #expect(d.reason == "context")
        #expect(d.hops.first?.detail.contains("4064") == true)
    }

    @Test func liveSlotContextBeatsConfiguredContext() throws {
        // Configured 8192 / 4 = 2048, but the server reports 1024 per slot.
        var status = RoutingFixture.ready
        status.contextPerSlot = 1024
        let d = try policy.decide(RouteContext(maxTokens: 16, estimatedPromptTokens: 1500), snapshot: snapshot(status))
        #expect(d.reason == "context")
    }

    @Test func hugeMaxTokensAloneDoesNotBurst() throws {
        // The Hermes agent sends max_tokens = its whole context (65536); the reserve caps it at 1024.
        let d = try policy.decide(RouteContext(maxTokens: 65536, estimatedPromptTokens: 200), snapshot: snapshot())
        #expect(d.outcome == .forward(profile: "coding-local"))
        // Kept local: max_tokens is clamped to what the slot still holds.
        #expect(d.maxTokens == 2048 - 200)
    }

    @Test func nearTheLimitAsksForTheExactCount() throws {
        let ctx = RouteContext(maxTokens: 100, estimatedPromptTokens: 1900)
        let first = try policy.decide(ctx, snapshot: snapshot())
        #expect(first.outcome == .needsExactCount(profile: "coding-local"))
        let fits = try policy.decide(ctx, snapshot: snapshot(exact: 1500))
        #expect(fits.outcome == .forward(profile: "coding-local"))
        #expect(fits.promptTokensExact)
        #expect(fits.promptTokens == 1500)
        let over = try policy.decide(ctx, snapshot: snapshot(exact: 2000))
        #expect(over.outcome == .forward(profile: "coding-burst"))
        #expect(over.reason == "context")
        #expect(over.hops.first?.detail.contains("exact") == true)
    }

    @Test func contextOverLowersTheLimit() throws {
        var profiles = RoutingFixture.profiles
        profiles["coding-local"] = RoutingFixture.local("coding-local", burst: "coding-burst", contextOver: 500)
        let policy = RoutingPolicy(profiles: profiles, front: RoutingFixture.front)
        let d = try policy.decide(RouteContext(maxTokens: 100, estimatedPromptTokens: 700), snapshot: snapshot())
        #expect(d.reason == "context")
    }

    @Test func busySlotsWaitThenOverflow() throws {
        let ctx = RouteContext(promptText: "hi")
        let wait = try policy.decide(ctx, snapshot: snapshot(inFlight: 4))
        #expect(wait.outcome == .needsSlot(profile: "coding-local", wait: 0.25))
        let over = try policy.decide(ctx, snapshot: snapshot(inFlight: 4, waited: true))
        #expect(over.outcome == .forward(profile: "coding-burst"))
        #expect(over.reason == "overflow")
        let free = try policy.decide(ctx, snapshot: snapshot(inFlight: 3))
        #expect(free.outcome == .forward(profile: "coding-local"))
        // The request that waited and got a slot is counted in flight, and that slot is its own.
        var held = snapshot(inFlight: 4, waited: true)
        held.holding = "coding-local"
        let mine = try policy.decide(ctx, snapshot: held)
        #expect(mine.outcome == .forward(profile: "coding-local"), "\(mine.explain())")
        held.holding = "another"
        #expect(try policy.decide(ctx, snapshot: held).reason == "overflow")
    }

    @Test func withoutBurstContextAndOverflowStayLocal() throws {
        let status = LocalRuntimeStatus(phase: .ready, baseURL: "http://x", slotsTotal: 2, contextPerSlot: 1024)
        let snap = RuntimeSnapshot(statuses: ["lonely": status], inFlight: ["lonely": 2])
        let busy = try policy.decide(RouteContext(explicitProfile: "lonely"), snapshot: snap)
        #expect(busy.outcome == .forward(profile: "lonely"))
        let long = try policy.decide(RouteContext(explicitProfile: "lonely", estimatedPromptTokens: 5000),
                                     snapshot: RuntimeSnapshot(statuses: ["lonely": status]))
        #expect(long.outcome == .forward(profile: "lonely"))
        #expect(long.steps.last?.contains("no burst profile") == true)
        let near = try policy.decide(RouteContext(explicitProfile: "lonely", estimatedPromptTokens: 1000),
                                     snapshot: RuntimeSnapshot(statuses: ["lonely": status]))
        #expect(near.outcome == .forward(profile: "lonely"))
    }

    @Test func burstChainFollowsLocalToLocal() throws {
        var profiles = RoutingFixture.profiles
        profiles["demo-local"] = RoutingFixture.local("demo-local", burst: "demo-burst", context: 2048, slots: 2)
        profiles["demo-burst"] = RoutingFixture.local("demo-burst", burst: nil, context: 8192, slots: 1)
        var f = RoutingFixture.front
        f.defaultProfile = "demo-local"
        let policy = RoutingPolicy(profiles: profiles, front: f)
        let up = LocalRuntimeStatus(phase: .ready, baseURL: "http://b", slotsTotal: 1, contextPerSlot: 8192)
        let snap = RuntimeSnapshot(statuses: ["demo-local": LocalRuntimeStatus(phase: .stopped), "demo-burst": up])
        let d = try policy.decide(RouteContext(promptText: "hi"), snapshot: snap)
        #expect(d.outcome == .forward(profile: "demo-burst"))
        #expect(d.reason == "local_down")
        // Both down: nothing can take it.
        let both = try policy.decide(RouteContext(promptText: "hi"), snapshot: RuntimeSnapshot())
        #expect(both.outcome == .unavailable(profile: "demo-burst", reason: .localDown))
    }

    @Test func fallbackOrderIsDepthFirstWithoutRepeats() {
        var profiles = RoutingFixture.profiles
        profiles["a"] = RoutingFixture.remote("a", fallback: ["b", "c"])
        profiles["b"] = RoutingFixture.remote("b", fallback: ["d", "a"])
        profiles["c"] = RoutingFixture.remote("c", fallback: ["b"])
        profiles["d"] = RoutingFixture.remote("d")
        let policy = RoutingPolicy(profiles: profiles, front: RoutingFixture.front)
        #expect(policy.fallbackOrder(for: "a") == ["b", "d", "c"])
        #expect(policy.fallbackOrder(for: "d") == [])
    }
}
