/// The Responses (`/v1/responses`) and Anthropic Messages (`/v1/messages`, `/v1/messages/count_tokens`)
/// body shapes: the same readers as chat, their own members.
extension RequestDecoder {
    /// `/v1/responses`: `input` (a string, or a list of items: messages with `content`, tool calls and
    /// their outputs), `instructions` (the system text), `max_output_tokens` (the output limit).
    static func responsesMember(_ key: String, _ s: inout JSONScanner, _ r: inout DecodedRequest) throws -> Bool {
        switch key {
        case "input":
            var text: [UInt8] = []
            text.reserveCapacity(r.bodyBytes)
            // Prefix keys: a string input is one message, a list one per item (PrefixKeys).
            let isString = s.peekKind() == .string
            let start = s.index
            try readStringOrList("input", expected: "a string or a list of input items", &s, into: &text) { i, s, text in
                let param = "input[\(i)]"
                _ = s.peekKind()
                let itemStart = s.index
                defer { r.messageSpans.append(itemStart..<s.index) }
                if !text.isEmpty { text.append(0x0A) }
                switch s.peekKind() {
                case .string:
                    try s.appendString(to: &text)
                case .object:
                    try readObject(param, &s) { k, s in
                        switch k {
                        case "content":
                            try readContent("\(param).content", &s, into: &text, images: &r.hasImages)
                        case "type":
                            guard s.peekKind() == .string else { throw typeError("\(param).type", "a string") }
                            if try s.string() == "input_image" { r.hasImages = true }
                        case "output", "arguments":
                            // A tool's output or a call's arguments: context the model reads.
                            guard s.peekKind() == .string else { return false }
                            try s.appendString(to: &text)
                        default:
                            return false
                        }
                        return true
                    }
                default:
                    throw RequestError(code: "invalid_input", message: "\(param) must be a string or an object", param: param)
                }
            }
            if isString { r.messageSpans = [start..<s.index] }
            r.addPrompt(text)
            r.sawRequired = true
        case "instructions":
            switch s.peekKind() {
            case .string:
                let start = s.index
                r.addPrompt(Array(try s.string().utf8), before: true)
                r.headSpans.append(start..<s.index)
            case .null: _ = try s.literal()
            default: throw typeError(key, "a string")
            }
        case "max_output_tokens":
            try readTokenLimit(key, &s, &r)
        default:
            return false
        }
        return true
    }

    /// `/v1/messages` and `/v1/messages/count_tokens`: `messages`, a non-empty list of `{role, content}`
    /// (content a string or a list of blocks), and `system` (a string or a list of text blocks).
    static func messagesMember(_ key: String, _ s: inout JSONScanner, _ r: inout DecodedRequest) throws -> Bool {
        switch key {
        case "messages":
            let text = try readMessages(&s, &r)
            r.addPrompt(text)
            r.sawRequired = true
        case "system":
            var text: [UInt8] = []
            var images = false
            let start = s.index
            try readContent("system", &s, into: &text, images: &images)
            r.headSpans.append(start..<s.index)
            r.addPrompt(text, before: true)
        default:
            return false
        }
        return true
    }
}
