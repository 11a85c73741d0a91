/// A small JSON object writer for the per-request event.
///
/// Why not JSONSerialization: on Linux it bridges through NSDictionary and sorts keys with ICU
/// collation, which cost more than the rest of a forwarded request together (measured with perf in
/// `scripts/bench/front.sh`). Keys are written in the order given.
struct JSONLine {
    private(set) var text = "{"
    private var first = true

    private mutating func key(_ k: String) {
        if !first { text.append(",") }
        first = false
        Self.appendString(k, to: &text)
        text.append(":")
    }

    mutating func add(_ k: String, _ v: String?) {
        guard let v else { return }
        key(k)
        Self.appendString(v, to: &text)
    }

    mutating func add(_ k: String, _ v: Int?) {
        guard let v else { return }
        key(k)
        text.append(String(v))
    }

    mutating func add(_ k: String, _ v: Bool) {
        key(k)
        text.append(v ? "true" : "false")
    }

    /// Milliseconds with three decimals.
    mutating func add(_ k: String, ms v: Double?) {
        guard let v else { return }
        key(k)
        text.append(formatMs(v))
    }

    mutating func add(_ k: String, raw: String) {
        key(k)
        text.append(raw)
    }

    mutating func add(_ k: String, strings: [String]) {
        key(k)
        text.append("[")
        for (i, s) in strings.enumerated() {
            if i > 0 { text.append(",") }
            Self.appendString(s, to: &text)
        }
        text.append("]")
    }

    func finished() -> String { text + "}" }

    static func appendString(_ s: String, to out: inout String) {
        out.append("\"")
        for u in s.unicodeScalars {
            switch u {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out.append("\"")
    }
}

/// `1.5` -> `"1.500"`, without `String(format:)` (locale machinery on Linux).
func formatMs(_ ms: Double) -> String {
    guard ms.isFinite else { return "0.000" }
    let negative = ms < 0
    let micro = Int((abs(ms) * 1000).rounded())
    let frac = micro % 1000
    let fracText = frac < 10 ? "00\(frac)" : (frac < 100 ? "0\(frac)" : "\(frac)")
    return (negative ? "-" : "") + "\(micro / 1000).\(fracText)"
}
