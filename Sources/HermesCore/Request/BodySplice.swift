/// One change to a request body: the bytes in `range` are replaced by `bytes` (an empty range inserts).
public struct BodyEdit: Sendable, Equatable {
    public var range: Range<Int>
    public var bytes: [UInt8]

    public init(range: Range<Int>, bytes: [UInt8]) {
        self.range = range
        self.bytes = bytes
    }
}

/// The front's edits to a request body, made on the original bytes: every byte it does not change
/// reaches the upstream as the client wrote it (key order, number spelling, escapes, white space).
/// Re-serializing the whole body to change one field was 74% of the front's CPU on agent-sized bodies.
public enum BodySplice {
    /// The edits that set `model` (a remote profile's model name) and lower every output-token limit
    /// above `clampTokens` to it. A limit the client did not send is never added (the server's own
    /// `predict` holds), and a limit at or below the clamp is left as spelled.
    public static func edits(for request: DecodedRequest, model: String? = nil, clampTokens: Int? = nil) -> [BodyEdit] {
        var out: [BodyEdit] = []
        if let model {
            let value = jsonString(model)
            if let span = request.modelSpan {
                out.append(BodyEdit(range: span, bytes: value))
            } else {
                var member = Array("\"model\":".utf8) + value
                if request.memberCount > 0 { member.append(UInt8(ascii: ",")) }
                out.append(BodyEdit(range: request.objectStart..<request.objectStart, bytes: member))
            }
        }
        if let clamp = clampTokens {
            for limit in request.tokenLimits {
                guard let v = limit.value, v > clamp else { continue }
                out.append(BodyEdit(range: limit.span, bytes: Array(String(clamp).utf8)))
            }
        }
        return out.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    /// Walks the result in order: `copy` gets the untouched ranges of the original, `insert` the new
    /// bytes. Edits must be sorted and not overlap (as `edits(for:)` makes them); others are dropped.
    public static func apply(_ edits: [BodyEdit], length: Int, copy: (Range<Int>) -> Void, insert: ([UInt8]) -> Void) {
        var at = 0
        for e in edits where e.range.lowerBound >= at && e.range.upperBound <= length {
            if at < e.range.lowerBound { copy(at..<e.range.lowerBound) }
            insert(e.bytes)
            at = e.range.upperBound
        }
        if at < length { copy(at..<length) }
    }

    /// The edited body as a byte array (tests, fuzzing; the front writes into a ByteBuffer).
    public static func apply(_ edits: [BodyEdit], to body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + edits.reduce(0) { $0 + $1.bytes.count })
        apply(edits, length: body.count, copy: { out.append(contentsOf: body[$0]) }, insert: { out.append(contentsOf: $0) })
        return out
    }

    /// A JSON string literal for `s`, quotes included.
    public static func jsonString(_ s: String) -> [UInt8] {
        jsonString(utf8: s.utf8)
    }

    /// `jsonString` of UTF-8 bytes.
    public static func jsonString(utf8: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(utf8.count + 2)
        let hex = Array("0123456789abcdef".utf8)
        for b in utf8 {
            switch b {
            case UInt8(ascii: "\""): out += [0x5C, 0x22]
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0..<0x20: out += [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }
}
