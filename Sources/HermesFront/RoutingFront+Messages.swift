import Foundation
import HTTPTypes
import HermesCore
import Hummingbird
import NIOHTTP1

/// OpenAI's Responses API and Anthropic's Messages API, routed like chat.
extension RoutingFront {
    func addAgentAPIRoutes(to router: Router<some RequestContext>) {
        router.post("/v1/responses") { request, _ in await self.handleRouted(.responses, request: request) }
        router.post("/responses") { request, _ in await self.handleRouted(.responses, request: request) }
        router.post("/v1/messages") { request, _ in
            await ErrorShape.$current.withValue(.anthropic) { await self.handleRouted(.messages, request: request) }
        }
        router.post("/v1/messages/count_tokens") { request, _ in
            await ErrorShape.$current.withValue(.anthropic) { await self.handleRouted(.messagesCountTokens, request: request) }
        }
    }

    /// The front's key as the client sent it: `Authorization: Bearer KEY`, or Anthropic's `x-api-key: KEY`
    /// (what the anthropic SDK sends), as a bearer value for `LoadedConfig.authorized`.
    static func clientCredential(_ headers: HTTPFields) -> String? {
        if let a = headers[.authorization] { return a }
        if let k = headers[HTTPField.Name("x-api-key")!] { return "Bearer " + k }
        return nil
    }

    /// Headers for a remote that speaks Anthropic's API: the key as `x-api-key`, the client's
    /// `anthropic-version` (the API refuses a request without one) and `anthropic-beta`.
    static func addAnthropicHeaders(_ headers: inout HTTPHeaders, key: String?, client: HTTPFields) {
        if let key { headers.add(name: "x-api-key", value: key) }
        headers.add(name: "anthropic-version", value: client[HTTPField.Name("anthropic-version")!] ?? "2023-06-01")
        if let beta = client[HTTPField.Name("anthropic-beta")!] { headers.add(name: "anthropic-beta", value: beta) }
    }

    /// The local server's exact-count endpoint for a request of `endpoint` (b11434 answers all three with
    /// `{"input_tokens": N}`); nil where there is none (then `/tokenize` on the prompt text).
    static func exactCountPath(_ endpoint: RoutedEndpoint) -> String? {
        switch endpoint {
        case .chatCompletions: return "/v1/chat/completions/input_tokens"
        case .responses: return "/v1/responses/input_tokens"
        case .messages, .messagesCountTokens: return "/v1/messages/count_tokens"
        case .completions, .embeddings: return nil
        }
    }

    /// How to read a delivered answer: the name for its `model` and, for a local profile that promotes
    /// bad tool calls and has somewhere to promote to, the request's tools to judge against.
    static func answerReading(ctx: RouteContext, profile: Profile, promote: Bool, toolNames: Set<String>?,
                              isSSE: Bool) -> AnswerReading
    {
        AnswerReading(modelName: ctx.model ?? profile.name, judgeTools: promote ? toolNames : nil,
                      api: ctx.api, isSSE: isSSE)
    }

    /// The answer for a request no profile can take because of what it is (its API, its image).
    static func cannotTake(_ reason: BurstReason, profile: String, api: AgentAPI) -> (status: Int, code: String, message: String) {
        if reason == .vision {
            return (400, "no_vision_profile",
                    "the request carries an image and neither \(profile) nor a profile it bursts or falls back to can see (mmproj or vision: true)")
        }
        return (404, "unsupported_api",
                "neither \(profile) nor a profile it bursts or falls back to speaks the \(api.rawValue) API (apis: in the profile)")
    }
}
