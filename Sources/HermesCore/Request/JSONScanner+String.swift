extension JSONScanner {
    /// Passes over a string, validating escapes and UTF-8.
    public mutating func skipString() throws(JSONSyntaxError) {
        var none: [UInt8] = []
        _ = try scanString(collect: false, into: &none)
    }

    /// A string's decoded value.
    public mutating func string() throws(JSONSyntaxError) -> String {
        var out: [UInt8] = []
        _ = try scanString(collect: true, into: &out)
        // Validated UTF-8 already: decoding repairs nothing.
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends a string's decoded bytes (UTF-8) to `out`; returns the raw span between the quotes.
    @discardableResult
    public mutating func appendString(to out: inout [UInt8]) throws(JSONSyntaxError) -> Range<Int> {
        try scanString(collect: true, into: &out)
    }

    /// The one string loop: runs of plain bytes are copied at once, escapes decoded one by one.
    mutating func scanString(collect: Bool, into out: inout [UInt8]) throws(JSONSyntaxError) -> Range<Int> {
        skipSpace()
        guard current == UInt8(ascii: "\"") else { throw fail("expected a string") }
        index += 1
        let start = index
        var run = index
        while true {
            // Eight plain bytes at a time (no quote, backslash, control or non-ASCII byte): prompts are
            // mostly long runs of plain text, and this loop is most of the decoder's time.
            if let base = p.baseAddress {
                while index &+ 8 <= p.count,
                    !Self.hasSpecialByte(UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                {
                    index &+= 8
                }
            }
            guard index < p.count else { throw fail("unterminated string") }
            let b = p[index]
            if b == UInt8(ascii: "\"") {
                if collect, run < index { out.append(contentsOf: UnsafeBufferPointer(rebasing: p[run..<index])) }
                let content = start..<index
                index += 1
                return content
            }
            if b == UInt8(ascii: "\\") {
                if collect, run < index { out.append(contentsOf: UnsafeBufferPointer(rebasing: p[run..<index])) }
                try escape(collect: collect, into: &out)
                run = index
                continue
            }
            if b < 0x20 { throw fail("control character in a string") }
            if b < 0x80 {
                index += 1
                continue
            }
            try utf8Sequence(b)
        }
    }

    /// Whether any of the eight bytes is `"`, `\`, below 0x20 or above 0x7F (the bit tricks are exact
    /// for "any"; a byte they flag is then read one by one).
    @inline(__always) static func hasSpecialByte(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var m = w & highs
        m |= (w &- ones &* 0x20) & ~w & highs
        let quote = w ^ (ones &* 0x22)
        m |= (quote &- ones) & ~quote & highs
        let slash = w ^ (ones &* 0x5C)
        m |= (slash &- ones) & ~slash & highs
        return m != 0
    }

    /// One multi-byte UTF-8 sequence starting with `lead` at `index` (RFC 3629: no overlongs, no
    /// surrogates, nothing past U+10FFFF).
    mutating func utf8Sequence(_ lead: UInt8) throws(JSONSyntaxError) {
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        let more: Int
        switch lead {
        case 0xC2...0xDF: more = 1
        case 0xE0: more = 2; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: more = 2
        case 0xED: more = 2; high = 0x9F
        case 0xF0: more = 3; low = 0x90
        case 0xF1...0xF3: more = 3
        case 0xF4: more = 3; high = 0x8F
        default: throw fail("invalid UTF-8")
        }
        let second = byte(at: index + 1)
        guard second >= low, second <= high else { throw fail("invalid UTF-8") }
        var k = 2
        while k <= more {
            let c = byte(at: index + k)
            guard c >= 0x80, c <= 0xBF else { throw fail("invalid UTF-8") }
            k += 1
        }
        index += more + 1
    }

    /// A backslash escape at `index`.
    mutating func escape(collect: Bool, into out: inout [UInt8]) throws(JSONSyntaxError) {
        let e = byte(at: index + 1)
        index += 2
        let simple: UInt8
        switch e {
        case UInt8(ascii: "\""): simple = 0x22
        case UInt8(ascii: "\\"): simple = 0x5C
        case UInt8(ascii: "/"): simple = 0x2F
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if scalar >= 0xD800, scalar <= 0xDBFF {
                guard byte(at: index) == UInt8(ascii: "\\"), byte(at: index + 1) == UInt8(ascii: "u") else {
                    throw fail("unpaired surrogate in \\u escape")
                }
                index += 2
                let low = try hex4()
                guard low >= 0xDC00, low <= 0xDFFF else { throw fail("unpaired surrogate in \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00, scalar <= 0xDFFF {
                throw fail("unpaired surrogate in \\u escape")
            }
            if collect, let u = Unicode.Scalar(scalar) { out.append(contentsOf: u.utf8) }
            return
        default:
            index -= 1
            throw fail("invalid escape")
        }
        if collect { out.append(simple) }
    }

    /// Four hex digits at `index`.
    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = byte(at: index)
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            index += 1
        }
        return v
    }
}
