/// The tokens one answer used, as its upstream reported them (`usage`), never estimated.
///
/// `input` counts every prompt token, `cached` the part of it the provider served from its prompt cache
/// (billed at `cached_input`), `localCached` llama-server's `timings.cache_n` (a local prompt cache, free).
/// A field the upstream did not report is nil, so "unknown" never reads as 0.
public struct AnswerUsage: Sendable, Equatable {
    public var input: Int?
    public var output: Int?
    public var cached: Int?
    public var localCached: Int?

    /// No answer has a trillion tokens: a count above this is the upstream's bug, not a number to add.
    public static let maxTokens = 1 << 40

    public init(input: Int? = nil, output: Int? = nil, cached: Int? = nil, localCached: Int? = nil) {
        self.input = input
        self.output = output
        self.cached = cached
        self.localCached = localCached
    }

    /// Nothing reported.
    public var isEmpty: Bool { input == nil && output == nil && cached == nil && localCached == nil }

    /// A later report of the same answer (a stream's `message_delta` after `message_start`, the usage
    /// chunk after the last content chunk): counts are running totals, so what it reports wins.
    public mutating func merge(_ later: AnswerUsage) {
        if let v = later.input { input = v }
        if let v = later.output { output = v }
        if let v = later.cached { cached = v }
        if let v = later.localCached { localCached = v }
    }
}

/// What one JSON payload of an answer (a whole answer, or one stream event) says about usage.
public struct UsageReport: Sendable, Equatable {
    public var usage = AnswerUsage()
    /// An OpenAI-style chunk whose `choices` is empty and which carries `usage`: the chunk
    /// `stream_options.include_usage` adds, which a client that did not ask for it must not see.
    public var isUsageOnlyChunk = false

    public init(usage: AnswerUsage = AnswerUsage(), isUsageOnlyChunk: Bool = false) {
        self.usage = usage
        self.isUsageOnlyChunk = isUsageOnlyChunk
    }

    /// Reads `usage` at the top (chat, completions, Responses, Messages, a usage chunk, `message_delta`),
    /// under `response` (Responses stream events) or `message` (Anthropic's `message_start`), and
    /// llama-server's `timings.cache_n`. Nil when the payload is not one JSON object. An upstream is
    /// outside input: a count that is not a whole number in 0...maxTokens is left out, never trusted.
    public static func read(_ p: UnsafeBufferPointer<UInt8>) -> UsageReport? {
        var s = JSONScanner(p)
        var out = UsageReport()
        var choices: Int?
        do {
            try s.enterObject()
            var first = true
            while try s.nextMember(&first) {
                switch try s.key() {
                case "usage" where s.peekKind() == .object:
                    out.usage.merge(try usageObject(&s))
                case "response" where s.peekKind() == .object, "message" where s.peekKind() == .object:
                    try s.enterObject()
                    var f = true
                    while try s.nextMember(&f) {
                        if try s.key() == "usage", s.peekKind() == .object {
                            out.usage.merge(try usageObject(&s))
                        } else {
                            try s.skipValue()
                        }
                    }
                case "timings" where s.peekKind() == .object:
                    try s.enterObject()
                    var f = true
                    while try s.nextMember(&f) {
                        if try s.key() == "cache_n" { out.usage.localCached = try count(&s) } else { try s.skipValue() }
                    }
                case "choices" where s.peekKind() == .array:
                    var n = 0
                    try s.enterArray()
                    var f = true
                    while try s.nextElement(&f) {
                        n += 1
                        try s.skipValue()
                    }
                    choices = n
                default:
                    try s.skipValue()
                }
            }
            try s.expectEnd()
        } catch {
            return nil
        }
        out.isUsageOnlyChunk = choices == 0 && (out.usage.input != nil || out.usage.output != nil)
        return out
    }

    /// Convenience for tests and whole answers.
    public static func read(_ bytes: [UInt8]) -> UsageReport? {
        bytes.withUnsafeBufferPointer { read($0) }
    }

    /// One `usage` object in any of the four shapes. Anthropic's `input_tokens` leaves out the tokens
    /// read from or written to its cache (`cache_read_input_tokens`, `cache_creation_input_tokens`):
    /// they are added so `input` is every prompt token whichever API answered.
    static func usageObject(_ s: inout JSONScanner) throws(JSONSyntaxError) -> AnswerUsage {
        var u = AnswerUsage()
        var cacheRead: Int?
        var cacheWrite: Int?
        var detailsCached: Int?
        try s.enterObject()
        var first = true
        while try s.nextMember(&first) {
            switch try s.key() {
            case "prompt_tokens", "input_tokens": u.input = try count(&s)
            case "completion_tokens", "output_tokens": u.output = try count(&s)
            case "cache_read_input_tokens": cacheRead = try count(&s)
            case "cache_creation_input_tokens": cacheWrite = try count(&s)
            case "prompt_tokens_details" where s.peekKind() == .object,
                "input_tokens_details" where s.peekKind() == .object:
                try s.enterObject()
                var f = true
                while try s.nextMember(&f) {
                    if try s.key() == "cached_tokens" { detailsCached = try count(&s) } else { try s.skipValue() }
                }
            default:
                try s.skipValue()
            }
        }
        if cacheRead != nil || cacheWrite != nil {
            let extra = (cacheRead ?? 0) + (cacheWrite ?? 0)  // each <= 2^40: no overflow
            if let i = u.input { u.input = min(i + extra, AnswerUsage.maxTokens) }
            u.cached = cacheRead ?? 0
        } else if let c = detailsCached {
            u.cached = c
        }
        if let c = u.cached, let i = u.input, c > i { u.cached = i }
        return u
    }

    /// A token count, or nil (and the value skipped) when it is not a whole number in range.
    static func count(_ s: inout JSONScanner) throws(JSONSyntaxError) -> Int? {
        guard s.peekKind() == .number else {
            try s.skipValue()
            return nil
        }
        let n = try s.number()
        guard n.integral, let v = n.value, v >= 0, v <= AnswerUsage.maxTokens else { return nil }
        return v
    }
}
