/// Reads the few numbers the front takes from an upstream's JSON answers (`input_tokens` from
/// `/v1/chat/completions/input_tokens`, the length of `tokens` from `/tokenize`) with the same strict
/// scanner as requests: an upstream is outside input too.
public enum UpstreamJSON {
    /// What a top-level member holds: an integer's value (nil when not an integer of moderate size),
    /// or an array's length.
    public enum Member: Sendable, Equatable {
        case integer(Int?)
        case arrayCount(Int)
        case other
    }

    /// The top-level `key` of a JSON object answer; nil when the answer is not a JSON object or lacks it.
    public static func member(_ key: String, in body: [UInt8]) -> Member? {
        body.withUnsafeBufferPointer { p -> Member? in
            var s = JSONScanner(p)
            var found: Member?
            do {
                try s.enterObject()
                var first = true
                while try s.nextMember(&first) {
                    let k = try s.key()
                    guard k == key, found == nil else {
                        try s.skipValue()
                        continue
                    }
                    switch s.peekKind() {
                    case .number:
                        let n = try s.number()
                        found = .integer(n.integral ? n.value : nil)
                    case .array:
                        var count = 0
                        try s.enterArray()
                        var firstElement = true
                        while try s.nextElement(&firstElement) {
                            count += 1
                            try s.skipValue()
                        }
                        found = .arrayCount(count)
                    default:
                        try s.skipValue()
                        found = .other
                    }
                }
                try s.expectEnd()
            } catch {
                return nil
            }
            return found
        }
    }

    /// A non-negative integer member (`input_tokens`), nil otherwise.
    public static func count(_ key: String, in body: [UInt8]) -> Int? {
        switch member(key, in: body) {
        case .integer(let v?) where v >= 0: return v
        case .arrayCount(let n): return n
        default: return nil
        }
    }
}
