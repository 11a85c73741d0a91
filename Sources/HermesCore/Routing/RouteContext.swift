import Foundation

/// The endpoints the front routes (the others pass through or are answered by the front itself).
public enum RoutedEndpoint: String, Sendable, Codable, CaseIterable {
    case chatCompletions = "chat.completions"
    case completions = "completions"
    case embeddings = "embeddings"
    case responses = "responses"
    case messages = "messages"
    case messagesCountTokens = "messages.count_tokens"

    /// The path under `/v1` (`/chat/completions`), appended to a remote's `base_url`.
    public var pathSuffix: String {
        switch self {
        case .chatCompletions: return "/chat/completions"
        case .completions: return "/completions"
        case .embeddings: return "/embeddings"
        case .responses: return "/responses"
        case .messages: return "/messages"
        case .messagesCountTokens: return "/messages/count_tokens"
        }
    }

    /// Generates in one of llama-server's slots: a warm-cache profile's front places these (and may
    /// restore a saved conversation first).
    public var picksSlot: Bool {
        switch self {
        case .chatCompletions, .completions, .responses, .messages: return true
        case .embeddings, .messagesCountTokens: return false
        }
    }

    /// llama-server b11434 honours a body's `id_slot` here (its log says "selected slot by id"). Its
    /// Anthropic converter keeps only a few members (`temperature`, `top_p`, `top_k`, `stream`, ...), so
    /// on `/v1/messages` the server picks the slot itself.
    public var takesSlotID: Bool {
        switch self {
        case .chatCompletions, .completions, .responses: return true
        case .messages, .embeddings, .messagesCountTokens: return false
        }
    }
}

/// A request the front refuses before routing: it becomes an OpenAI-shaped 4xx.
public struct RequestError: UserFacingError, Equatable, CustomStringConvertible {
    /// HTTP status (400, 404, 409, 413).
    public var status: Int
    /// OpenAI `error.code`, e.g. `invalid_json`, `missing_messages`, `unknown_profile`.
    public var code: String
    /// OpenAI `error.type`.
    public var type: String
    public var message: String
    /// OpenAI `error.param`: the field at fault (`max_tokens`, `messages[2].content`), when one is.
    public var param: String?

    public init(status: Int = 400, code: String, type: String = "invalid_request_error", message: String, param: String? = nil) {
        self.status = status
        self.code = code
        self.type = type
        self.message = message
        self.param = param
    }

    public var description: String { "\(status) \(code): \(message)" }
}

/// Everything routing looks at, taken from a request's headers and body. Holds no HTTP types so the
/// CLI (`route --explain`) can build one from a file.
public struct RouteContext: Sendable, Equatable {
    public var endpoint: RoutedEndpoint
    /// `X-Hermes-Profile`.
    public var explicitProfile: String?
    /// `X-Hermes-Platform`, else `metadata.platform`.
    public var platform: String?
    /// `X-Hermes-Source`, else `metadata.source_kind`.
    public var sourceKind: String?
    /// `X-Hermes-Toolsets` (comma list), else `metadata.toolsets` (list or comma string).
    public var toolsets: [String]
    /// `X-Hermes-Goal`, else `metadata.goal`.
    public var goal: String?
    /// The body's `model`.
    public var model: String?
    /// The body carries a non-empty `tools` (or legacy `functions`) list.
    public var hasTools: Bool
    /// The conversation has an image part.
    public var hasImages = false
    /// Message contents joined by newlines (chat), the prompt (completions) or the input (embeddings).
    /// Used for `prompt_matches` and hashed for events; never logged.
    public var promptText: String
    /// The largest of `max_tokens`, `max_completion_tokens`, `n_predict` the client sent.
    public var maxTokens: Int?
    public var stream: Bool
    /// The fast estimate of the prompt's tokens (see `TokenEstimate`).
    public var estimatedPromptTokens: Int

    public init(endpoint: RoutedEndpoint = .chatCompletions, explicitProfile: String? = nil, platform: String? = nil,
                sourceKind: String? = nil, toolsets: [String] = [], goal: String? = nil, model: String? = nil,
                hasTools: Bool = false, promptText: String = "", maxTokens: Int? = nil, stream: Bool = false,
                estimatedPromptTokens: Int? = nil)
    {
        self.endpoint = endpoint
        self.explicitProfile = explicitProfile
        self.platform = platform
        self.sourceKind = sourceKind
        self.toolsets = toolsets
        self.goal = goal
        self.model = model
        self.hasTools = hasTools
        self.promptText = promptText
        self.maxTokens = maxTokens
        self.stream = stream
        self.estimatedPromptTokens = estimatedPromptTokens ?? TokenEstimate.tokens(forBytes: promptText.utf8.count)
    }

    /// Header names the front reads (compared lowercased).
    public enum Header {
        public static let profile = "x-hermes-profile"
        public static let platform = "x-hermes-platform"
        public static let source = "x-hermes-source"
        public static let toolsets = "x-hermes-toolsets"
        public static let goal = "x-hermes-goal"
    }

    /// Builds the context from lowercased header names (only the `x-hermes-*` ones are read; they
    /// take precedence over `metadata`) and the decoded body. `promptText: false` leaves `promptText`
    /// empty (the front passes `RoutingPolicy.readsPromptText`: no route reads it, so it is not built).
    public init(request r: DecodedRequest, headers: [String: String], promptText withText: Bool = true) {
        func header(_ name: String) -> String? {
            guard let v = headers[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        self.init(
            endpoint: r.endpoint,
            explicitProfile: header(Header.profile),
            platform: header(Header.platform) ?? r.metadata.platform,
            sourceKind: header(Header.source) ?? r.metadata.sourceKind,
            toolsets: header(Header.toolsets).map(Self.commaList) ?? r.metadata.toolsets ?? [],
            goal: header(Header.goal) ?? r.metadata.goal,
            model: r.model,
            hasTools: r.hasTools,
            promptText: withText ? r.promptText : "",
            maxTokens: r.maxTokens,
            stream: r.stream,
            // From the raw body, so tool schemas, tool calls and message framing count too.
            estimatedPromptTokens: TokenEstimate.tokens(forBytes: r.bodyBytes)
        )
        self.hasImages = r.hasImages
    }

    /// Decodes `body` for `endpoint` and builds the context (the CLI's `route`, tests).
    public init(endpoint: RoutedEndpoint, headers: [String: String], body: [UInt8]) throws(RequestError) {
        self.init(request: try RequestDecoder.decode(endpoint, body: body), headers: headers)
    }

    static func commaList(_ s: String) -> [String] {
        s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// The fast token estimate: one token per 4 bytes of the request body, rounded up.
///
/// Why the body rather than the message text: tool schemas (the Hermes agent sends ~40 KB of them),
/// earlier `tool_calls` and per-message framing all take context in the chat template, and the JSON
/// around each message (`{"role":"user","content":""}`, ~30 bytes) is close to what a template adds.
/// English prose runs ~4 characters a token; code and JSON a little less, non-Latin scripts more bytes
/// per token. The estimate is therefore only trusted far from a limit; near one, the front asks the
/// server for the exact count (`BurstCheck` says when).
public enum TokenEstimate {
    public static let bytesPerToken = 4

    public static func tokens(forBytes bytes: Int) -> Int {
        bytes <= 0 ? 0 : (bytes + bytesPerToken - 1) / bytesPerToken
    }
}
