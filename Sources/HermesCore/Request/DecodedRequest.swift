/// What the front reads out of a request body, once, as typed values, plus where the fields it may
/// edit sit in the original bytes (see `BodySplice`).
public struct DecodedRequest: Sendable, Equatable {
    public var endpoint: RoutedEndpoint
    /// `model`; nil when absent, null or empty.
    public var model: String?
    /// A non-empty `tools` (or legacy `functions`) list.
    public var hasTools = false
    /// Where each `tools` / `functions` value is spelled: read again for the tool names only by a
    /// profile that judges tool calls (`RequestDecoder.toolNames`), so every other request skips them.
    public var toolSpans: [Range<Int>] = []
    /// Any image part (`image_url`, `input_image`, Anthropic `image`) in the conversation.
    public var hasImages = false
    /// Message contents joined by newlines (chat), the prompt (completions) or the input (embeddings),
    /// as UTF-8 (validated by the scanner). For matching and hashing; never logged. Kept as bytes: the
    /// front hashes these and builds `promptText` only when a route matches on the prompt (building the
    /// `String` was a sixth of the front's CPU on a 600 KB body, docs/benchmarks.md).
    public var promptUTF8: [UInt8] = []
    /// `promptUTF8` as a `String` (built on each call).
    public var promptText: String { String(decoding: promptUTF8, as: UTF8.self) }
    /// Unicode scalars in the prompt (the event's `prompt_chars`), counted on its UTF-8 bytes:
    /// `promptText.unicodeScalars.count` was a quarter of the front's CPU on a 600 KB body.
    public var promptScalars = 0
    /// `stream: true`.
    public var stream = false
    /// `stream_options.include_usage`, when sent.
    public var includeUsage: Bool?
    /// The body has a `stream_options` member (with or without `include_usage`).
    public var hasStreamOptions = false
    /// `metadata.platform`, `metadata.source_kind`, `metadata.goal`, `metadata.toolsets`.
    public var metadata = RequestMetadata()
    /// Every output-token limit the body sends (`max_tokens`, `max_completion_tokens`, `n_predict`, ...).
    public var tokenLimits: [TokenLimit] = []
    /// The client's own `id_slot` (0...255); nil when absent, null or -1 (any slot).
    public var slotID: Int?
    /// The body's length in bytes.
    public var bodyBytes = 0
    /// Where `model`'s value (string or null, quotes included) is spelled; nil when absent.
    public var modelSpan: Range<Int>?
    /// The offset just after the top-level `{`, where a missing member can be inserted.
    public var objectStart = 0
    /// Members in the top-level object.
    public var memberCount = 0
    /// The endpoint's required field (`messages`, `prompt`, `input`) was read.
    var sawRequired = false
    /// Where each message of `messages` (each item of a Responses `input`, each whole chunk of a
    /// completions `prompt`) is spelled in the body, in order (for `PrefixKeys`).
    public var messageSpans: [Range<Int>] = []
    /// Where what precedes every message in the model's prompt is spelled: `tools`/`functions`,
    /// `system`, `instructions`.
    public var headSpans: [Range<Int>] = []

    public init(endpoint: RoutedEndpoint) { self.endpoint = endpoint }

    /// Sets the prompt from its (validated) UTF-8 bytes.
    public mutating func setPrompt(_ utf8: [UInt8]) {
        promptUTF8 = utf8
        promptScalars = Self.scalarCount(utf8)
    }

    /// Unicode scalars in valid UTF-8: the bytes that are not continuation bytes (`10xxxxxx`), eight
    /// at a time (the byte loop was a tenth of the front's CPU on a 600 KB body). Per word, a 1 in each
    /// byte that is a continuation byte is added into eight byte-wide counters, which are summed every
    /// 255 words before one can overflow (no popcount: the baseline x86-64 target has no POPCNT).
    static func scalarCount(_ utf8: [UInt8]) -> Int {
        utf8.withUnsafeBytes { raw in
            let n = raw.count
            let lows: UInt64 = 0x0101_0101_0101_0101
            var continuation = 0, i = 0
            while n &- i >= 8 {
                var lanes: UInt64 = 0
                var words = 0
                while words < 255, n &- i >= 8 {
                    let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    // Bit 7 of each byte set and bit 6 (shifted up into bit 7) clear, moved down to bit 0.
                    lanes &+= ((w & ~(w << 1)) >> 7) & lows
                    i &+= 8
                    words &+= 1
                }
                // Eight byte counters (each <= 255) -> four 16-bit sums -> one.
                let pairs = (lanes & 0x00FF_00FF_00FF_00FF) &+ ((lanes >> 8) & 0x00FF_00FF_00FF_00FF)
                continuation &+= Int(truncatingIfNeeded: (pairs &* 0x0001_0001_0001_0001) >> 48)
            }
            while i < n {
                if raw[i] & 0xC0 == 0x80 { continuation &+= 1 }
                i &+= 1
            }
            return n &- continuation
        }
    }

    /// Adds text after (`system` last) or before (`system`, `instructions` first) what is already there,
    /// one newline between, keeping `promptScalars` in step with `promptUTF8`.
    mutating func addPrompt(_ utf8: [UInt8], before: Bool = false) {
        guard !promptUTF8.isEmpty else { return setPrompt(utf8) }
        let old = promptUTF8
        setPrompt(before ? utf8 + [0x0A] + old : old + [0x0A] + utf8)
    }

    /// The largest output-token limit sent (what the upstream may generate up to), nil when none.
    /// The largest, not the first: llama-server and OpenAI do not agree on which alias wins.
    public var maxTokens: Int? { tokenLimits.compactMap(\.value).max() }
}

/// The `metadata` keys routing reads (headers take precedence; see `RouteContext`).
public struct RequestMetadata: Sendable, Equatable {
    public var platform: String?
    public var sourceKind: String?
    public var goal: String?
    public var toolsets: [String]?

    public init(platform: String? = nil, sourceKind: String? = nil, goal: String? = nil, toolsets: [String]? = nil) {
        self.platform = platform
        self.sourceKind = sourceKind
        self.goal = goal
        self.toolsets = toolsets
    }
}

/// One output-token limit as the client sent it.
public struct TokenLimit: Sendable, Equatable {
    /// The member name (`max_tokens`).
    public var field: String
    /// The value; nil for `null`.
    public var value: Int?
    /// Where the value is spelled in the body.
    public var span: Range<Int>

    public init(field: String, value: Int?, span: Range<Int>) {
        self.field = field
        self.value = value
        self.span = span
    }

    /// Limits are integers from -1 (llama.cpp: no limit) to Int32.max; anything else is refused.
    public static let range = -1...Int(Int32.max)
}
