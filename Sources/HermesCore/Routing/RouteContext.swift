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
}

/// A request the front refuses before routing: it becomes an OpenAI-shaped 4xx.
public struct RequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP status (400, 404, 409, 413).
    public var status: Int
    /// OpenAI `error.code`, e.g. `invalid_json`, `missing_messages`, `unknown_profile`.
    public var code: String
    /// OpenAI `error.type`.
    public var type: String
    public var message: String

    public init(status: Int = 400, code: String, type: String = "invalid_request_error", message: String) {
        self.status = status
        self.code = code
        self.type = type
        self.message = message
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
    /// Message contents joined by newlines (chat), the prompt (completions) or the input (embeddings).
    /// Used for `prompt_matches` and hashed for events; never logged.
    public var promptText: String
    /// `max_tokens`, else `max_completion_tokens`, else `n_predict`.
    public var maxTokens: Int?
    public var stream: Bool
    /// The fast estimate of the prompt's tokens (see `TokenEstimate`).
    public var estimatedPromptTokens: Int
    /// A message carries an image part (`image_url`, `input_image`, an Anthropic `image` block).
    public var hasImages = false

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

    /// Builds the context from lowercased header names and the parsed JSON body.
    ///
    /// - Parameters:
    ///   - headers: header values by lowercased name (only the `x-hermes-*` ones are read).
    ///   - body: the result of `JSONSerialization.jsonObject` on the body.
    ///   - bodyBytes: the raw body's length; the token estimate is taken from it so tool schemas,
    ///     tool calls and message framing count too.
    /// - Throws: `RequestError` for a body that is not an object or lacks what the endpoint needs.
    public init(endpoint: RoutedEndpoint, headers: [String: String], body: Any, bodyBytes: Int) throws {
        guard let object = body as? [String: Any] else {
            throw RequestError(code: "invalid_body", message: "the request body must be a JSON object")
        }
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        func header(_ name: String) -> String? {
            guard let v = headers[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        func meta(_ key: String) -> String? {
            guard let v = metadata[key] as? String, !v.isEmpty else { return nil }
            return v
        }

        var text = ""
        switch endpoint {
        case .chatCompletions:
            guard let messages = object["messages"] as? [Any] else {
                throw RequestError(code: "missing_messages", message: "'messages' is required and must be a list of messages")
            }
            guard !messages.isEmpty else {
                throw RequestError(code: "missing_messages", message: "'messages' must not be empty")
            }
            text.reserveCapacity(max(0, bodyBytes))
            for (i, m) in messages.enumerated() {
                guard let message = m as? [String: Any] else {
                    throw RequestError(code: "invalid_messages", message: "messages[\(i)] must be an object")
                }
                guard message["role"] is String else {
                    throw RequestError(code: "invalid_messages", message: "messages[\(i)] needs a 'role'")
                }
                if !text.isEmpty { text.append("\n") }
                Self.appendContent(message["content"], to: &text)
            }
        case .completions:
            guard let prompt = object["prompt"] else {
                throw RequestError(code: "missing_prompt", message: "'prompt' is required")
            }
            Self.appendContent(prompt, to: &text)
        case .embeddings, .responses:
            guard let input = object["input"] else {
                throw RequestError(code: "missing_input", message: "'input' is required")
            }
            Self.appendContent(input, to: &text)
        case .messages, .messagesCountTokens:
            guard let messages = object["messages"] as? [Any], !messages.isEmpty else {
                throw RequestError(code: "missing_messages", message: "'messages' is required and must be a non-empty list")
            }
            for m in messages {
                if !text.isEmpty { text.append("\n") }
                Self.appendContent((m as? [String: Any])?["content"], to: &text)
            }
        }

        var toolsets: [String] = []
        if let h = header(Header.toolsets) {
            toolsets = Self.commaList(h)
        } else if let list = metadata["toolsets"] as? [Any] {
            toolsets = list.compactMap { $0 as? String }
        } else if let s = metadata["toolsets"] as? String {
            toolsets = Self.commaList(s)
        }
        let tools = (object["tools"] as? [Any]) ?? (object["functions"] as? [Any]) ?? []

        self.init(
            endpoint: endpoint,
            explicitProfile: header(Header.profile),
            platform: header(Header.platform) ?? meta("platform"),
            sourceKind: header(Header.source) ?? meta("source_kind"),
            toolsets: toolsets,
            goal: header(Header.goal) ?? meta("goal"),
            model: (object["model"] as? String).flatMap { $0.isEmpty ? nil : $0 },
            hasTools: !tools.isEmpty,
            promptText: text,
            maxTokens: Self.int(object["max_tokens"]) ?? Self.int(object["max_completion_tokens"]) ?? Self.int(object["n_predict"]),
            stream: (object["stream"] as? Bool) ?? false,
            estimatedPromptTokens: TokenEstimate.tokens(forBytes: bodyBytes)
        )
        let conversation = (object["messages"] as? [Any]) ?? (object["input"] as? [Any]) ?? []
        self.hasImages = conversation.contains { m in
            let parts = ((m as? [String: Any])?["content"] as? [Any] ?? []) + [m]
            return parts.contains { ["image_url", "input_image", "image"].contains(($0 as? [String: Any])?["type"] as? String ?? "") }
        }
    }

    static func commaList(_ s: String) -> [String] {
        s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func int(_ v: Any?) -> Int? {
        // JSONSerialization gives NSNumber; a Bool also bridges to NSNumber, so refuse it explicitly.
        if v is Bool { return nil }
        if let i = v as? Int { return i }
        if let d = v as? Double, d.isFinite { return Int(d) }
        return nil
    }

    /// A string, a list of strings, or a list of content parts (`{"type":"text","text":...}`).
    static func appendContent(_ content: Any?, to text: inout String) {
        switch content {
        case let s as String:
            text.append(s)
        case let parts as [Any]:
            var first = true
            for part in parts {
                var piece: String?
                if let s = part as? String {
                    piece = s
                } else if let p = part as? [String: Any], let t = p["text"] as? String {
                    piece = t
                }
                if let piece {
                    if !first { text.append("\n") }
                    text.append(piece)
                    first = false
                }
            }
        default:
            break
        }
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
