/// The readers every endpoint shape shares. Each consumes exactly one value and refuses a wrong type
/// with the field's name.
extension RequestDecoder {
    static func typeError(_ param: String, _ expected: String) -> RequestError {
        RequestError(code: "invalid_type", message: "'\(param)' must be \(expected)", param: param)
    }

    /// `true`/`false`, nil for `null`.
    static func readBool(_ param: String, _ s: inout JSONScanner) throws -> Bool? {
        guard s.peekKind() == .bool || s.peekKind() == .null else { throw typeError(param, "a boolean") }
        return try s.literal()
    }

    /// An object (or `null`, read as empty): `member` reads the keys it knows and returns false for
    /// the others, which are passed over.
    static func readObject(_ param: String, _ s: inout JSONScanner,
                           _ member: (String, inout JSONScanner) throws -> Bool) throws
    {
        switch s.peekKind() {
        case .null:
            _ = try s.literal()
        case .object:
            try s.enterObject()
            var first = true
            while try s.nextMember(&first) {
                let k = try s.key()
                if try !member(k, &s) { try s.skipValue() }
            }
        default:
            throw typeError(param, "an object")
        }
    }

    /// An output-token limit: an integer in `TokenLimit.range`, or null.
    static func readTokenLimit(_ key: String, _ s: inout JSONScanner, _ r: inout DecodedRequest) throws {
        switch s.peekKind() {
        case .number:
            let n = try s.number()
            guard let v = n.value, TokenLimit.range.contains(v) else {
                throw RequestError(code: "invalid_value",
                                   message: "'\(key)' must be an integer from \(TokenLimit.range.lowerBound) to \(TokenLimit.range.upperBound)",
                                   param: key)
            }
            r.tokenLimits.append(TokenLimit(field: key, value: v, span: n.range))
        case .null:
            let start = s.index
            _ = try s.literal()
            r.tokenLimits.append(TokenLimit(field: key, value: nil, span: start..<s.index))
        default:
            throw typeError(key, "an integer")
        }
    }

    /// `id_slot`, llama-server's slot for the request: an integer from -1 (any: llama-server's default)
    /// to 255, or null.
    static func readSlotID(_ s: inout JSONScanner, _ r: inout DecodedRequest) throws {
        switch s.peekKind() {
        case .number:
            let n = try s.number()
            guard let v = n.value, (-1...255).contains(v) else {
                throw RequestError(code: "invalid_value", message: "'id_slot' must be an integer from -1 to 255", param: "id_slot")
            }
            r.slotID = v >= 0 ? v : nil
        case .null:
            _ = try s.literal()
        default:
            throw typeError("id_slot", "an integer")
        }
    }

    /// A list (true when it has an element) or null (false); `item` reads each element (it must consume it).
    static func readList(_ param: String, _ s: inout JSONScanner, item: (inout JSONScanner) throws -> Void = { try $0.skipValue() })
        throws -> Bool
    {
        switch s.peekKind() {
        case .null:
            _ = try s.literal()
            return false
        case .array:
            try s.enterArray()
            var first = true
            var any = false
            while try s.nextElement(&first) {
                any = true
                try item(&s)
            }
            return any
        default:
            throw typeError(param, "a list")
        }
    }

    /// The names of the tools a decoded request offers (chat `function.name`, else `name`: Responses,
    /// Anthropic and legacy `functions`), read from its `toolSpans` only. Why not in the decode: walking
    /// 40 tool schemas key by key made every agent request's decode 28% slower, for the few profiles that
    /// judge tool calls; this reads only the tools, with the same scanner (a second `JSONDecoder` pass
    /// over the whole body cost twice the whole decode). An item that is not an object, or a name that is
    /// not a string, names nothing.
    public static func toolNames(in body: UnsafeRawBufferPointer, spans: [Range<Int>]) -> Set<String> {
        var names = Set<String>()
        let bytes = body.bindMemory(to: UInt8.self)
        for span in spans where span.lowerBound >= 0 && span.upperBound <= bytes.count {
            var s = JSONScanner(UnsafeBufferPointer(rebasing: bytes[span]))
            _ = try? readToolList("tools", &s, into: &names)
        }
        return names
    }

    public static func toolNames(in body: [UInt8], spans: [Range<Int>]) -> Set<String> {
        body.withUnsafeBytes { toolNames(in: $0, spans: spans) }
    }

    /// `tools` / `functions` item by item, each item's name into `names`.
    static func readToolList(_ param: String, _ s: inout JSONScanner, into names: inout Set<String>) throws -> Bool {
        try readList(param, &s) { s in
            guard s.peekKind() == .object else { return try s.skipValue() }
            var name: String?, functionName: String?
            try readObject(param, &s) { k, s in
                switch k {
                case "name" where s.peekKind() == .string: name = try s.string()
                case "function" where s.peekKind() == .object:
                    try readObject(param, &s) { k, s in
                        guard k == "name", s.peekKind() == .string else { return false }
                        functionName = try s.string()
                        return true
                    }
                default: return false
                }
                return true
            }
            if let n = functionName ?? name { names.insert(n) }
        }
    }

    /// `metadata`: the string keys routing reads; other keys are the client's business.
    static func readMetadata(_ s: inout JSONScanner, _ r: inout DecodedRequest) throws {
        func text(_ k: String, _ s: inout JSONScanner) throws -> String? {
            switch s.peekKind() {
            case .string:
                let v = try s.string()
                return v.isEmpty ? nil : v
            case .null:
                _ = try s.literal()
                return nil
            default:
                throw typeError("metadata.\(k)", "a string")
            }
        }
        try readObject("metadata", &s) { k, s in
            switch k {
            case "platform": r.metadata.platform = try text(k, &s)
            case "source_kind": r.metadata.sourceKind = try text(k, &s)
            case "goal": r.metadata.goal = try text(k, &s)
            case "toolsets":
                switch s.peekKind() {
                case .string:
                    r.metadata.toolsets = RouteContext.commaList(try s.string())
                case .array:
                    var list: [String] = []
                    try s.enterArray()
                    var first = true
                    while try s.nextElement(&first) {
                        if s.peekKind() == .string { list.append(try s.string()) } else { try s.skipValue() }
                    }
                    r.metadata.toolsets = list
                case .null:
                    _ = try s.literal()
                default:
                    throw typeError("metadata.toolsets", "a list or a comma-separated string")
                }
            default:
                return false
            }
            return true
        }
    }

    /// A message's content: a string, null, a list of parts, or one part. Text parts are appended to
    /// `text` joined by newlines; image parts (`image_url`, `input_image`, `image`) set `images`.
    /// Nested `content` (Anthropic `tool_result` blocks) is read the same way.
    static func readContent(_ param: String, _ s: inout JSONScanner, into text: inout [UInt8], images: inout Bool) throws {
        var firstPiece = true
        switch s.peekKind() {
        case .string:
            try s.appendString(to: &text)
        case .null:
            _ = try s.literal()
        case .array:
            try s.enterArray()
            var first = true
            var j = 0
            while try s.nextElement(&first) {
                try readPart("\(param)[\(j)]", &s, into: &text, images: &images, firstPiece: &firstPiece)
                j += 1
            }
        case .object:
            try readPart(param, &s, into: &text, images: &images, firstPiece: &firstPiece)
        default:
            throw typeError(param, "a string or a list of content parts")
        }
    }

    static func readPart(_ param: String, _ s: inout JSONScanner, into text: inout [UInt8], images: inout Bool,
                         firstPiece: inout Bool) throws
    {
        func separate() {
            if !firstPiece { text.append(0x0A) }
            firstPiece = false
        }
        switch s.peekKind() {
        case .string:
            separate()
            try s.appendString(to: &text)
        case .object:
            try readObject(param, &s) { k, s in
                switch k {
                case "type":
                    guard s.peekKind() == .string else { throw typeError("\(param).type", "a string") }
                    let t = try s.string()
                    if t == "image_url" || t == "input_image" || t == "image" { images = true }
                case "text":
                    guard s.peekKind() == .string else { return false }
                    separate()
                    try s.appendString(to: &text)
                case "image_url", "image":
                    images = true
                    return false
                case "content":
                    guard s.peekKind() == .string || s.peekKind() == .array else { return false }
                    separate()
                    try readContent("\(param).content", &s, into: &text, images: &images)
                default:
                    return false
                }
                return true
            }
        case .null:
            _ = try s.literal()
        default:
            throw typeError(param, "a string or a content part")
        }
    }
}
