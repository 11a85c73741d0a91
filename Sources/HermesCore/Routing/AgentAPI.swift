import Foundation

/// The request APIs a profile may speak. The raw values are what `apis:` lists in a profile file.
///
/// `chat` covers `/v1/chat/completions` and its siblings `/v1/completions` and `/v1/embeddings` (every
/// OpenAI-compatible server offers them together); `responses` is OpenAI's Responses API
/// (`/v1/responses`); `messages` is Anthropic's Messages API (`/v1/messages`, `/v1/messages/count_tokens`).
public enum AgentAPI: String, Sendable, Codable, CaseIterable, Comparable {
    case chat
    case responses
    case messages

    public static func < (a: AgentAPI, b: AgentAPI) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// What a profile speaks when its file has no `apis:`. llama-server (b11434, verified in its
    /// `server.cpp`) routes `/v1/chat/completions`, `/v1/responses` and `/v1/messages` alike; a remote is
    /// assumed to be plain OpenAI-compatible until told otherwise.
    public static let localDefault: [AgentAPI] = [.chat, .responses, .messages]
    public static let remoteDefault: [AgentAPI] = [.chat]
}

extension Profile {
    /// The APIs requests may reach this profile with (`apis:`, else the kind's default).
    public var apis: [AgentAPI] {
        switch kind {
        case .llamaServer(let s): return s.apis ?? AgentAPI.localDefault
        case .openai(let s): return s.apis ?? AgentAPI.remoteDefault
        case .rpcWorker: return []
        }
    }

    /// True when a request of `api` may be sent here.
    public func speaks(_ api: AgentAPI) -> Bool { apis.contains(api) }

    /// True when the model behind this profile can take images: a local server started with its
    /// `mmproj` (or marked `vision: true`), a remote marked `vision: true`.
    public var canSee: Bool {
        switch kind {
        case .llamaServer(let s): return s.vision ?? (s.mmproj != nil)
        case .openai(let s): return s.vision ?? false
        case .rpcWorker: return false
        }
    }

    /// Whether a local answer with a bad tool call is retried once on the burst profile.
    public var promotesBadToolCalls: Bool { llamaServer?.promoteBadToolCalls ?? false }
}
