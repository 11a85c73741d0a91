/// A small JSON object writer for the per-request event, straight into UTF-8 bytes.
///
/// Why not JSONSerialization: on Linux it bridges through NSDictionary and sorts keys with ICU
/// collation, which cost more than the rest of a forwarded request together (measured with perf in
/// `scripts/bench/front.sh`). Why bytes and not a String: appending to a String scalar by scalar was
/// still a tenth of the front's CPU per request. Keys are written in the order given.
struct JSONLine {
    private(set) var bytes: [UInt8]
    private var first = true

    init(capacity: Int = 128) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    private mutating func key(_ k: StaticString) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func add(_ k: StaticString, _ v: String?) {
        guard let v else { return }
        key(k)
        Self.appendString(v, to: &bytes)
    }

    /// A string, or `null` when nil (for fields a reader expects to find, like OpenAI's `param`).
    mutating func add(_ k: StaticString, orNull v: String?) {
        key(k)
        if let v { Self.appendString(v, to: &bytes) } else { bytes.append(contentsOf: Array("null".utf8)) }
    }

    mutating func add(_ k: StaticString, _ v: Int?) {
        guard let v else { return }
        key(k)
        Self.appendInt(v, to: &bytes)
    }

    mutating func add(_ k: StaticString, _ v: Bool) {
        key(k)
        bytes.append(contentsOf: v ? Self.trueBytes : Self.falseBytes)
    }

    /// Milliseconds with three decimals.
    mutating func add(_ k: StaticString, ms v: Double?) {
        guard let v else { return }
        key(k)
        Self.appendMs(v, to: &bytes)
    }

    /// A nested object.
    mutating func add(_ k: StaticString, object: JSONLine) {
        key(k)
        bytes.append(contentsOf: object.bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    /// An array of objects.
    mutating func add(_ k: StaticString, objects: [JSONLine]) {
        key(k)
        bytes.append(UInt8(ascii: "["))
        for (i, o) in objects.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: o.bytes)
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func add(_ k: StaticString, strings: [String]) {
        key(k)
        bytes.append(UInt8(ascii: "["))
        for (i, s) in strings.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            Self.appendString(s, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// The object, closed.
    func finished() -> [UInt8] { bytes + [UInt8(ascii: "}")] }

    /// The object as text (tests, receipts).
    var text: String { String(decoding: finished(), as: UTF8.self) }

    static let trueBytes = Array("true".utf8)
    static let falseBytes = Array("false".utf8)
    static let hex = Array("0123456789abcdef".utf8)

    /// A JSON string: UTF-8 passes through, `"` `\` and control characters are escaped.
    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var start = 0
            for (i, b) in utf8.enumerated() where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i]))
                start = i + 1
                out.append(UInt8(ascii: "\\"))
                switch b {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "\n"): out.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): out.append(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): out.append(UInt8(ascii: "t"))
                default:
                    out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 0xF)]])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    static func appendInt(_ v: Int, to out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                n += 1
            } while m > 0
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }

    static func appendMs(_ ms: Double, to out: inout [UInt8]) {
        guard ms.isFinite else {
            out.append(contentsOf: Array("0.000".utf8))
            return
        }
        if ms < 0 { out.append(UInt8(ascii: "-")) }
        let micro = Int((abs(ms) * 1000).rounded())
        appendInt(micro / 1000, to: &out)
        out.append(UInt8(ascii: "."))
        let frac = micro % 1000
        out.append(UInt8(ascii: "0") + UInt8(frac / 100))
        out.append(UInt8(ascii: "0") + UInt8(frac / 10 % 10))
        out.append(UInt8(ascii: "0") + UInt8(frac % 10))
    }
}

/// `1.5` -> `"1.500"`, without `String(format:)` (locale machinery on Linux).
func formatMs(_ ms: Double) -> String {
    var out: [UInt8] = []
    JSONLine.appendMs(ms, to: &out)
    return String(decoding: out, as: UTF8.self)
}
