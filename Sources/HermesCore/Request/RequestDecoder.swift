/// Decodes a request body into a `DecodedRequest` in one pass, or refuses it with an OpenAI-shaped
/// `RequestError` that names the field (`invalid_type` / `invalid_value`, `param: max_tokens`).
///
/// Shape: one shared loop over the top-level members (`decode`), the members every endpoint shares
/// (`commonMember`), and one function per endpoint shape for the rest (`chatMember`,
/// `completionsMember`, ...) plus its required-field check in `finish`. A new endpoint adds a case and
/// its own member function; the scanner and the shared readers (`readContent`, `readTokenLimit`, ...)
/// stay as they are.
public enum RequestDecoder {
    /// Decodes `body` (the raw bytes as received).
    public static func decode(_ endpoint: RoutedEndpoint, body: UnsafeRawBufferPointer) throws(RequestError) -> DecodedRequest {
        let bytes = body.bindMemory(to: UInt8.self)
        var s = JSONScanner(bytes)
        var r = DecodedRequest(endpoint: endpoint)
        r.bodyBytes = bytes.count
        do {
            guard s.peekKind() == .object else {
                if s.peekKind() == .invalid { throw s.fail(bytes.isEmpty ? "the body is empty" : "expected a JSON value") }
                try s.skipValue()
                try s.expectEnd()
                throw RequestError(code: "invalid_body", message: "the request body must be a JSON object")
            }
            try s.enterObject()
            r.objectStart = s.index
            var seen = Set<String>()
            var first = true
            while try s.nextMember(&first) {
                let key = try s.key()
                r.memberCount += 1
                let handled = try commonMember(key, &s, &r) || endpointMember(key, &s, &r)
                if handled {
                    // A repeated field the front reads would be read differently upstream (most parsers
                    // keep the last): refuse it rather than route on one value and send another.
                    guard seen.insert(key).inserted else {
                        throw RequestError(code: "duplicate_key", message: "'\(key)' appears more than once", param: key)
                    }
                } else {
                    try s.skipValue()
                }
            }
            try s.expectEnd()
            try finish(&r)
        } catch let e as RequestError {
            throw e
        } catch let e as JSONSyntaxError {
            throw RequestError(code: "invalid_json", message: "the request body is not valid JSON: \(e.message) at byte \(e.offset)")
        } catch {
            throw RequestError(code: "invalid_json", message: "the request body is not valid JSON")
        }
        return r
    }

    /// Decodes a byte array (tests, fuzzing, the CLI).
    public static func decode(_ endpoint: RoutedEndpoint, body: [UInt8]) throws(RequestError) -> DecodedRequest {
        do {
            return try body.withUnsafeBytes { raw in try decode(endpoint, body: raw) }
        } catch let e as RequestError {
            throw e
        } catch {
            throw RequestError(code: "invalid_json", message: "the request body is not valid JSON")
        }
    }

    // MARK: members every endpoint shares


    static func commonMember(_ key: String, _ s: inout JSONScanner, _ r: inout DecodedRequest) throws -> Bool {
        switch key {
        case "model":
            let start = s.index
            switch s.peekKind() {
            case .string:
                let m = try s.string()
                r.model = m.isEmpty ? nil : m
            case .null: _ = try s.literal()
            default: throw typeError(key, "a string")
            }
            r.modelSpan = start..<s.index
        case "max_tokens", "max_completion_tokens", "n_predict":
            try readTokenLimit(key, &s, &r)
        case "stream":
            r.stream = try readBool(key, &s) ?? false
        case "stream_options":
            r.hasStreamOptions = true
            try readObject(key, &s) { k, s in
                guard k == "include_usage" else { return false }
                r.includeUsage = try readBool("stream_options.include_usage", &s)
                return true
            }
        case "metadata":
            try readMetadata(&s, &r)
        case "id_slot":
            try readSlotID(&s, &r)
        case "tools", "functions":
            let start = s.index
            r.hasTools = try readList(key, &s) || r.hasTools
            r.headSpans.append(start..<s.index)
            r.toolSpans.append(start..<s.index)
        default:
            return false
        }
        return true
    }

    static func endpointMember(_ key: String, _ s: inout JSONScanner, _ r: inout DecodedRequest) throws -> Bool {
        switch r.endpoint {
        case .chatCompletions: return try chatMember(key, &s, &r)
        case .completions: return try promptMember(key, field: "prompt", &s, &r)
        case .embeddings: return try promptMember(key, field: "input", &s, &r)
        case .responses: return try responsesMember(key, &s, &r)
        case .messages, .messagesCountTokens: return try messagesMember(key, &s, &r)
        }
    }

    /// Required fields per endpoint, checked after the whole body was read.
    static func finish(_ r: inout DecodedRequest) throws {
        switch r.endpoint {
        case .chatCompletions:
            guard r.sawRequired else {
                throw RequestError(code: "missing_messages", message: "'messages' is required and must be a list of messages", param: "messages")
            }
        case .completions:
            guard r.sawRequired else { throw RequestError(code: "missing_prompt", message: "'prompt' is required", param: "prompt") }
        case .embeddings, .responses:
            guard r.sawRequired else { throw RequestError(code: "missing_input", message: "'input' is required", param: "input") }
        case .messages, .messagesCountTokens:
            guard r.sawRequired else {
                throw RequestError(code: "missing_messages", message: "'messages' is required and must be a list of messages", param: "messages")
            }
        }
    }

    // MARK: endpoint shapes

    /// `/v1/chat/completions`: `messages`, a non-empty list of `{role, content}`.
    static func chatMember(_ key: String, _ s: inout JSONScanner, _ r: inout DecodedRequest) throws -> Bool {
        guard key == "messages" else { return false }
        let text = try readMessages(&s, &r)
        r.setPrompt(text)
        r.sawRequired = true
        return true
    }

    /// A non-empty list of `{role, content}` (chat and Anthropic Messages): the contents' text, a newline
    /// between messages; images noted in `r.hasImages`.
    static func readMessages(_ s: inout JSONScanner, _ r: inout DecodedRequest) throws -> [UInt8] {
        guard s.peekKind() == .array else {
            throw RequestError(code: "missing_messages", message: "'messages' must be a list of messages", param: "messages")
        }
        var text: [UInt8] = []
        text.reserveCapacity(r.bodyBytes)
        var i = 0
        try s.enterArray()
        var first = true
        while try s.nextElement(&first) {
            let param = "messages[\(i)]"
            guard s.peekKind() == .object else {
                throw RequestError(code: "invalid_messages", message: "\(param) must be an object", param: param)
            }
            var role = false
            if !text.isEmpty { text.append(0x0A) }
            let start = s.index
            defer { r.messageSpans.append(start..<s.index) }
            try readObject(param, &s) { k, s in
                switch k {
                case "role":
                    guard s.peekKind() == .string else { throw typeError("\(param).role", "a string") }
                    try s.skipString()
                    role = true
                case "content":
                    try readContent("\(param).content", &s, into: &text, images: &r.hasImages)
                default:
                    return false
                }
                return true
            }
            guard role else { throw RequestError(code: "invalid_messages", message: "\(param) needs a 'role'", param: "\(param).role") }
            i += 1
        }
        guard i > 0 else { throw RequestError(code: "missing_messages", message: "'messages' must not be empty", param: "messages") }
        return text
    }

    /// `/v1/completions` (`prompt`) and `/v1/embeddings` (`input`): a string or a list of strings
    /// (token-id lists are passed over).
    static func promptMember(_ key: String, field: String, _ s: inout JSONScanner, _ r: inout DecodedRequest) throws -> Bool {
        guard key == field else { return false }
        let isString = s.peekKind() == .string
        let start = s.index
        defer { if isString, r.endpoint == .completions { r.messageSpans = PrefixKeys.chunks(ofString: start..<s.index) } }
        var text: [UInt8] = []
        try readStringOrList(field, expected: "a string or a list", &s, into: &text) { _, s, text in
            if s.peekKind() == .string {
                if !text.isEmpty { text.append(0x0A) }
                try s.appendString(to: &text)
            } else {
                try s.skipValue()
            }
        }
        r.setPrompt(text)
        r.sawRequired = true
        return true
    }

    /// A string (appended to `text`), or a list whose items `item` reads (with each item's index);
    /// anything else is a type error naming `param`.
    static func readStringOrList(_ param: String, expected: String, _ s: inout JSONScanner, into text: inout [UInt8],
                                 item: (Int, inout JSONScanner, inout [UInt8]) throws -> Void) throws {
        switch s.peekKind() {
        case .string:
            try s.appendString(to: &text)
        case .array:
            try s.enterArray()
            var first = true
            var i = 0
            while try s.nextElement(&first) {
                try item(i, &s, &text)
                i += 1
            }
        default:
            throw typeError(param, expected)
        }
    }
}
