/// A chain of hashes over a conversation at message boundaries: key `k` stands for "the head (tools,
/// system) and the first `k` messages, byte for byte". Two requests share their first `k` messages
/// exactly when their `k`-th keys are equal, so the longest shared prefix is a walk down two arrays.
///
/// What a message is, per endpoint (the decoder's `DecodedRequest.messageSpans` and `headSpans`):
/// - chat completions and Anthropic Messages: each of `messages`; the head is `tools` (and `system`);
/// - Responses: each item of `input` (a string input is one); the head is `tools` and `instructions`;
/// - completions: a string `prompt` in whole chunks of `chunkBytes` (a prompt has no message
///   boundaries; a later turn repeats the earlier prompt's bytes, so its leading chunks are the same).
///   The tail short of a chunk is left out, so the keys of a prompt are a prefix of its continuation's.
///   Its head is marked, so a prompt's keys never equal a chat request's.
///
/// Computed over the body as received: no re-serialization, and nothing for profiles that do not use
/// it. Not a cryptographic hash: a collision only costs a slot choice or a restore that
/// `timings.cache_n` then shows was useless.
public enum PrefixKeys {
    /// A completions prompt's chunk: 1 KiB of the JSON string, about 250 tokens of text.
    public static let chunkBytes = 1024

    /// Keys `0...n` for `n` messages: `keys[0]` covers the head alone, `keys[k]` the head and `k`
    /// messages. Spans outside `body` are ignored (they never are, from the decoder).
    public static func keys(for request: DecodedRequest, body: UnsafeRawBufferPointer) -> [UInt64] {
        var h = Hasher64()
        if request.endpoint == .completions { h.add(tag: 0x636F_6D70_6C65_7465) }  // "complete": a raw prompt
        for span in request.headSpans { h.add(span: span, of: body) }
        var out: [UInt64] = [h.value]
        out.reserveCapacity(request.messageSpans.count + 1)
        for span in request.messageSpans {
            h.add(span: span, of: body)
            out.append(h.value)
        }
        return out
    }

    /// `keys(for:body:)` over a byte array (tests, fuzzing).
    public static func keys(for request: DecodedRequest, body: [UInt8]) -> [UInt64] {
        body.withUnsafeBytes { keys(for: request, body: $0) }
    }

    /// Whole `chunkBytes` chunks of a JSON string literal (`literal` spans its quotes), from its
    /// opening quote; the closing quote and a shorter tail are in none.
    public static func chunks(ofString literal: Range<Int>, size: Int = chunkBytes) -> [Range<Int>] {
        guard size > 0, literal.count >= 2 else { return [] }
        let end = literal.upperBound - 1
        var out: [Range<Int>] = []
        out.reserveCapacity((end - literal.lowerBound) / size)
        var i = literal.lowerBound
        while end - i >= size {
            out.append(i..<(i + size))
            i += size
        }
        return out
    }

    /// How many leading keys two chains share: the number of messages (plus one for the head) that are
    /// the same in both.
    public static func sharedCount(_ a: [UInt64], _ b: [UInt64]) -> Int {
        var i = 0
        let n = min(a.count, b.count)
        while i < n, a[i] == b[i] { i &+= 1 }
        return i
    }
}

/// A 64-bit running hash, eight bytes at a time (the byte loop of FNV-1a was too slow for 600 KB
/// bodies on the request path). Each span ends with its length, so `[ab][c]` and `[a][bc]` differ.
struct Hasher64 {
    private(set) var value: UInt64 = 0x9E37_79B9_7F4A_7C15

    private mutating func mix(_ w: UInt64) {
        var x = (value ^ w) &* 0xBF58_476D_1CE4_E5B9
        x ^= x >> 31
        x = x &* 0x94D0_49BB_1331_11EB
        value = x ^ (x >> 29)
    }

    /// Marks what kind of chain this is (a completions prompt), before any span.
    mutating func add(tag: UInt64) { mix(tag) }

    mutating func add(span: Range<Int>, of raw: UnsafeRawBufferPointer) {
        guard span.lowerBound >= 0, span.upperBound <= raw.count else { return }
        var i = span.lowerBound
        while span.upperBound &- i >= 8 {
            mix(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            i &+= 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < span.upperBound {
            tail |= UInt64(raw[i]) << shift
            shift &+= 8
            i &+= 1
        }
        mix(tail)
        mix(UInt64(truncatingIfNeeded: span.count))
    }
}
