/// A single-pass, allocation-light JSON reader over a request body's bytes.
///
/// Why hand-written: the front needs a dozen fields out of bodies of up to megabytes (tool schemas,
/// long conversations) and the byte offsets of the few it edits. `docs/benchmarks.md` has the numbers
/// against swift-foundation's `JSONDecoder`. The scanner validates everything it passes over (strict
/// RFC 8259: grammar, escapes, surrogate pairs, UTF-8, control characters, a nesting limit), so a body
/// it accepts is one an upstream's parser accepts too, and it never traps: every read is bounds-checked
/// (`byte(at:)` answers 0 past the end, and 0 is invalid wherever a byte is expected).
public struct JSONScanner {
    /// Nesting deeper than this is refused: recursion stays bounded and so does an upstream's.
    public static let maxDepth = 128

    let p: UnsafeBufferPointer<UInt8>
    /// The next byte to read.
    public internal(set) var index = 0
    var depth = 0

    public init(_ bytes: UnsafeBufferPointer<UInt8>) { self.p = bytes }

    public var count: Int { p.count }

    @inline(__always) func byte(at i: Int) -> UInt8 { i >= 0 && i < p.count ? p[i] : 0 }
    @inline(__always) var current: UInt8 { byte(at: index) }

    func fail(_ what: String) -> JSONSyntaxError { JSONSyntaxError(offset: index, message: what) }

    @inline(__always) public mutating func skipSpace() {
        while index < p.count {
            let b = p[index]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            index += 1
        }
    }

    /// Consumes `c` (after white space) or throws.
    public mutating func expect(_ c: UInt8, _ what: String) throws(JSONSyntaxError) {
        skipSpace()
        guard current == c else { throw fail("expected \(what)") }
        index += 1
    }

    /// After the value that is the whole document: only white space may follow.
    public mutating func expectEnd() throws(JSONSyntaxError) {
        skipSpace()
        guard index == p.count else { throw fail("unexpected data after the JSON value") }
    }

    /// The kind of the next value, without consuming it.
    public mutating func peekKind() -> JSONKind {
        skipSpace()
        switch current {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: return .invalid
        }
    }

    // MARK: containers

    /// Consumes `{`; iterate with `nextMember(&first)`.
    public mutating func enterObject() throws(JSONSyntaxError) {
        try enter(UInt8(ascii: "{"), "'{'")
    }

    /// True when another member follows (positioned at its key); false after consuming `}`.
    public mutating func nextMember(_ first: inout Bool) throws(JSONSyntaxError) -> Bool {
        guard try next(&first, close: UInt8(ascii: "}"), "expected ',' or '}'") else { return false }
        guard current == UInt8(ascii: "\"") else { throw fail("expected a member name") }
        return true
    }

    /// Reads a member name and its `:`. Escapes are decoded (`"max\u005ftokens"` is `max_tokens`).
    public mutating func key() throws(JSONSyntaxError) -> String {
        let s = try string()
        try expect(UInt8(ascii: ":"), "':'")
        skipSpace()
        return s
    }

    /// Consumes `[`; iterate with `nextElement(&first)`.
    public mutating func enterArray() throws(JSONSyntaxError) {
        try enter(UInt8(ascii: "["), "'['")
    }

    /// True when another element follows (positioned at it); false after consuming `]`.
    public mutating func nextElement(_ first: inout Bool) throws(JSONSyntaxError) -> Bool {
        try next(&first, close: UInt8(ascii: "]"), "expected ',' or ']'")
    }

    /// Objects and arrays alike: consumes the opening byte, one level deeper (bounded).
    private mutating func enter(_ open: UInt8, _ what: String) throws(JSONSyntaxError) {
        try expect(open, what)
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
    }

    /// Objects and arrays alike: false after consuming `close`, else true past the separating comma
    /// (none before the first).
    private mutating func next(_ first: inout Bool, close: UInt8, _ expected: String) throws(JSONSyntaxError) -> Bool {
        skipSpace()
        if current == close {
            index += 1
            depth -= 1
            return false
        }
        if first {
            first = false
        } else {
            guard current == UInt8(ascii: ",") else { throw fail(expected) }
            index += 1
            skipSpace()
        }
        return true
    }

    // MARK: values

    /// Passes over any value, validating it.
    public mutating func skipValue() throws(JSONSyntaxError) {
        switch peekKind() {
        case .object:
            try enterObject()
            var first = true
            while try nextMember(&first) {
                try skipString()
                try expect(UInt8(ascii: ":"), "':'")
                try skipValue()
            }
        case .array:
            try enterArray()
            var first = true
            while try nextElement(&first) { try skipValue() }
        case .string: try skipString()
        case .bool, .null: _ = try literal()
        case .number: _ = try number()
        case .invalid: throw fail(index >= p.count ? "unexpected end of the body" : "expected a JSON value")
        }
    }

    /// `true`, `false` or `null` (nil).
    public mutating func literal() throws(JSONSyntaxError) -> Bool? {
        skipSpace()
        func word(_ w: StaticString) -> Bool {
            let n = w.utf8CodeUnitCount
            guard index + n <= p.count else { return false }
            let base = w.utf8Start
            for k in 0..<n where p[index + k] != base[k] { return false }
            return true
        }
        if word("true") { index += 4; return true }
        if word("false") { index += 5; return false }
        if word("null") { index += 4; return nil }
        throw fail("expected a JSON value")
    }

    /// A number's span, validated against the JSON grammar.
    public mutating func number() throws(JSONSyntaxError) -> JSONNumber {
        skipSpace()
        let start = index
        var integral = true
        if current == UInt8(ascii: "-") { index += 1 }
        if current == UInt8(ascii: "0") {
            index += 1
        } else if isDigit(current) {
            while isDigit(current) { index += 1 }
        } else {
            throw fail("malformed number")
        }
        if current == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard isDigit(current) else { throw fail("malformed number") }
            while isDigit(current) { index += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            integral = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard isDigit(current) else { throw fail("malformed number") }
            while isDigit(current) { index += 1 }
        }
        return JSONNumber(range: start..<index, integral: integral, value: integral ? integerValue(start..<index) : decimalValue(start..<index))
    }

    @inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    /// Exact integer value of an integral spelling, nil past ±2^62 (no overflow can trap).
    func integerValue(_ r: Range<Int>) -> Int? {
        var i = r.lowerBound
        let negative = p[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        guard r.upperBound - i <= 18 else { return nil }
        var v = 0
        while i < r.upperBound {
            v = v &* 10 &+ Int(p[i] &- UInt8(ascii: "0"))
            i += 1
        }
        return negative ? -v : v
    }

    /// A fraction or exponent spelling's value when it is a whole number that fits (`1e3`, `256.0`).
    func decimalValue(_ r: Range<Int>) -> Int? {
        let text = String(decoding: UnsafeBufferPointer(rebasing: p[r]), as: UTF8.self)
        guard let d = Double(text), d.isFinite, d == d.rounded(), abs(d) <= 4.0e18 else { return nil }
        return Int(exactly: d)
    }
}

/// What kind of value comes next.
public enum JSONKind: String, Sendable {
    case object, array, string, number, bool, null, invalid
}

/// A number as spelled in the body.
public struct JSONNumber: Sendable, Equatable {
    /// Where its spelling sits in the body.
    public var range: Range<Int>
    /// No fraction and no exponent.
    public var integral: Bool
    /// Its exact value when it is a whole number of moderate size; nil otherwise (`1e30`, `2.5`).
    public var value: Int?
}

/// The body is not JSON; `offset` is the byte where reading stopped.
public struct JSONSyntaxError: Error, Sendable, Equatable {
    public var offset: Int
    public var message: String
}
