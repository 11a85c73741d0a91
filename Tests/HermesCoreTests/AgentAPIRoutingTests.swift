import Foundation
import Testing

@testable import HermesCore

/// A request only ever goes to a profile that speaks its API and, with an image, can see.
@Suite struct AgentAPIRoutingTests {
    static func local(_ name: String, burst: String?, apis: [AgentAPI]? = nil, mmproj: String? = nil) -> Profile {
        var p = RoutingFixture.local(name, burst: burst)
        if case .llamaServer(var s) = p.kind {
            s.apis = apis
            s.mmproj = mmproj
            p.kind = .llamaServer(s)
        }
        return p
    }

    static func remote(_ name: String, fallback: [String]? = nil, apis: [AgentAPI]? = nil, vision: Bool? = nil) -> Profile {
        var p = RoutingFixture.remote(name, fallback: fallback)
        if case .openai(var s) = p.kind {
            s.apis = apis
            s.vision = vision
            p.kind = .openai(s)
        }
        return p
    }

    static func policy(_ list: [Profile], default def: String = "local") -> RoutingPolicy {
        var f = FrontSettings()
        f.defaultProfile = def
        return RoutingPolicy(profiles: Dictionary(uniqueKeysWithValues: list.map { ($0.name, $0) }), front: f)
    }

    static let ready = RuntimeSnapshot(statuses: ["local": RoutingFixture.ready, "local2": RoutingFixture.ready])
    static let down = RuntimeSnapshot(statuses: [:])

    @Test func endpointsBelongToTheirAPI() {
        #expect(RoutedEndpoint.chatCompletions.api == .chat)
        #expect(RoutedEndpoint.embeddings.api == .chat)
        #expect(RoutedEndpoint.responses.api == .responses)
        #expect(RoutedEndpoint.messages.api == .messages)
        #expect(RoutedEndpoint.messagesCountTokens.api == .messages)
        #expect(RoutedEndpoint.messagesCountTokens.isAnthropic)
        #expect(!RoutedEndpoint.responses.isAnthropic)
    }

    @Test func aBurstTargetThatDoesNotSpeakTheAPIIsSkippedForItsFallback() throws {
        let policy = Self.policy([
            Self.local("local", burst: "cloud"),
            Self.remote("cloud", fallback: ["anthropic"]),
            Self.remote("anthropic", apis: [.messages, .chat]),
        ])
        let d = try policy.decide(RouteContext(endpoint: .messages), snapshot: Self.down)
        #expect(d.target == "anthropic")
        #expect(d.reason == "local_down")
        #expect(d.skipped == [SkippedProfile(profile: "cloud", why: .api)])
        #expect(d.skipped.map(\.receipt) == ["cloud:skipped_api"])
        #expect(d.hops.map(\.to) == ["anthropic"])
        // Chat goes to the cloud as before, nothing skipped.
        let chat = try policy.decide(RouteContext(endpoint: .chatCompletions), snapshot: Self.down)
        #expect(chat.target == "cloud")
        #expect(chat.fallbacks == ["anthropic"])
        #expect(chat.skipped.isEmpty)
    }

    @Test func nothingThatSpeaksItKeepsContextLocalButDownIsUnavailable() throws {
        let policy = Self.policy([Self.local("local", burst: "cloud"), Self.remote("cloud")])
        // Too long for the slot, but the cloud does not speak responses: the local server is the best left.
        let long = RouteContext(endpoint: .responses, estimatedPromptTokens: 50_000)
        let kept = try policy.decide(long, snapshot: Self.ready)
        #expect(kept.target == "local")
        #expect(kept.skipped.map(\.receipt) == ["cloud:skipped_api"])
        let down = try policy.decide(RouteContext(endpoint: .responses), snapshot: Self.down)
        #expect(down.outcome == .unavailable(profile: "local", reason: .localDown))
    }

    @Test func aRemoteFallbackThatDoesNotSpeakItIsDropped() throws {
        let policy = Self.policy([
            Self.remote("cloud", fallback: ["chat-only", "both"], apis: [.chat, .responses]),
            Self.remote("chat-only"),
            Self.remote("both", apis: [.responses]),
        ], default: "cloud")
        let d = try policy.decide(RouteContext(endpoint: .responses))
        #expect(d.target == "cloud")
        #expect(d.fallbacks == ["both"])
        #expect(d.skipped == [SkippedProfile(profile: "chat-only", why: .api)])
    }

    @Test func anExplicitRemoteThatCannotTakeItGoesToItsFallbackOrIsRefused() throws {
        let policy = Self.policy([
            Self.local("local", burst: nil),
            Self.remote("cloud", fallback: ["anthropic"]),
            Self.remote("anthropic", apis: [.messages]),
            Self.remote("lonely"),
        ])
        let d = try policy.decide(RouteContext(endpoint: .messages, explicitProfile: "cloud"))
        #expect(d.target == "anthropic")
        #expect(d.skipped.map(\.receipt) == ["cloud:skipped_api"])
        let refused = try policy.decide(RouteContext(endpoint: .messages, explicitProfile: "lonely"))
        #expect(refused.outcome == .unavailable(profile: "lonely", reason: .api))
        #expect(refused.explain().contains("(api)"))
    }

    @Test func aLocalThatDoesNotSpeakItBurstsWithReasonAPI() throws {
        let policy = Self.policy([Self.local("local", burst: "cloud", apis: [.chat]), Self.remote("cloud", apis: [.responses])])
        let d = try policy.decide(RouteContext(endpoint: .responses), snapshot: Self.ready)
        #expect(d.target == "cloud")
        #expect(d.reason == "api")
        #expect(d.hops == [BurstHop(from: "local", to: "cloud", reason: .api, detail: d.hops.first?.detail ?? "")])
    }

    @Test func anImageToALocalThatCannotSeeBurstsWithVision() throws {
        let policy = Self.policy([
            Self.local("local", burst: "blind-cloud"),
            Self.remote("blind-cloud", fallback: ["seeing-cloud"]),
            Self.remote("seeing-cloud", vision: true),
        ])
        var ctx = RouteContext(endpoint: .chatCompletions, estimatedPromptTokens: 10)
        ctx.hasImages = true
        let d = try policy.decide(ctx, snapshot: Self.ready)
        #expect(d.target == "seeing-cloud")
        #expect(d.reason == "vision")
        #expect(d.hops.map(\.reason) == [.vision])
        #expect(d.skipped.map(\.receipt) == ["blind-cloud:skipped_vision"])
        // Without the image the local server takes it.
        ctx.hasImages = false
        #expect(try policy.decide(ctx, snapshot: Self.ready).target == "local")
    }

    @Test func aLocalThatCanSeeKeepsTheImage() throws {
        let policy = Self.policy([Self.local("local", burst: "cloud", mmproj: "/m/mmproj.gguf"), Self.remote("cloud")])
        var ctx = RouteContext(endpoint: .messages, estimatedPromptTokens: 10)
        ctx.hasImages = true
        let d = try policy.decide(ctx, snapshot: Self.ready)
        #expect(d.target == "local")
        #expect(d.reason == "default")
    }

    @Test func anImageWithNoProfileThatCanSeeIsRefused() throws {
        let policy = Self.policy([Self.local("local", burst: "cloud"), Self.remote("cloud")])
        var ctx = RouteContext(endpoint: .chatCompletions, estimatedPromptTokens: 10)
        ctx.hasImages = true
        let d = try policy.decide(ctx, snapshot: Self.ready)
        #expect(d.outcome == .unavailable(profile: "local", reason: .vision))
        #expect(d.skipped.map(\.receipt) == ["cloud:skipped_vision"])
    }

    @Test func aLocalBurstTargetIsCheckedInTurn() throws {
        // local -> local2 (chat only) -> cloud (responses): local2 itself bursts with reason api.
        let policy = Self.policy([
            Self.local("local", burst: "local2"),
            Self.local("local2", burst: "cloud", apis: [.chat]),
            Self.remote("cloud", apis: [.responses]),
        ])
        let d = try policy.decide(RouteContext(endpoint: .responses), snapshot: RuntimeSnapshot(statuses: ["local2": RoutingFixture.ready]))
        #expect(d.target == "cloud")
        #expect(d.hops.map(\.reason) == [.localDown, .api])
    }

    @Test func theForwardLoopAsksByName() {
        let policy = Self.policy([Self.local("local", burst: "cloud"), Self.remote("cloud")])
        #expect(policy.mismatch(named: "cloud", RouteContext(endpoint: .messages)) == .api)
        #expect(policy.mismatch(named: "cloud", RouteContext(endpoint: .chatCompletions)) == nil)
        #expect(policy.mismatch(named: "nope", RouteContext(endpoint: .messages)) == nil)
    }
}
