/// A calendar day in the user's time zone (`2026-12-06`): the unit budgets reset on and the ledger's
/// files are named by.
public struct LocalDay: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    /// nil unless year 1970...9999, month 1...12, day 1...31.
    public init?(year: Int, month: Int, day: Int) {
        guard (1970...9999).contains(year), (1...12).contains(month), (1...31).contains(day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// `2026-12-06`, exactly ten characters.
    public init?(_ text: some StringProtocol) {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let y = num(0..<4), let m = num(5..<7), let d = num(8..<10) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    public var description: String {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day))"
    }

    /// `"2026-12-06"`, appended in place.
    func appendQuoted(to o: inout [UInt8]) {
        func digits(_ v: Int, _ width: Int) {
            var div = 1
            for _ in 1..<width { div *= 10 }
            var v = v
            for _ in 0..<width {
                o.append(UInt8(truncatingIfNeeded: v / div % 10) + 0x30)
                v %= div
                div /= 10
            }
        }
        o.append(UInt8(ascii: "\""))
        digits(year, 4)
        o.append(UInt8(ascii: "-"))
        digits(month, 2)
        o.append(UInt8(ascii: "-"))
        digits(day, 2)
        o.append(UInt8(ascii: "\""))
    }

    /// `2026-12`.
    public var monthText: String { String(description.prefix(7)) }

    /// The first day of this day's month.
    public var firstOfMonth: LocalDay {
        var d = self
        d.day = 1
        return d
    }

    public func sameMonth(_ o: LocalDay) -> Bool { year == o.year && month == o.month }

    public static func < (a: LocalDay, b: LocalDay) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
}

/// One line of the spend ledger: one finished answer (`n` = 1, with its request `id`), or a compacted
/// day's total for one profile and source (`n` answers, no id). Never a prompt, never a key.
public struct LedgerEntry: Sendable, Equatable {
    public var id: String?
    public var day: LocalDay
    public var profile: String
    public var source: String?
    public var input = 0
    public var output = 0
    public var cached = 0
    /// nil: the profile had no price (counted in tokens, shown as unpriced).
    public var cost: Money?
    /// What a local answer would have cost on its burst profile; nil when not local or that is unpriced.
    public var saved: Money?
    public var answers = 1
    /// Answers among `answers` that had no price.
    public var unpriced = 0

    public init(id: String?, day: LocalDay, profile: String, source: String? = nil) {
        self.id = id
        self.day = day
        self.profile = profile
        self.source = source
    }

    /// Names and ids are short printable ASCII-safe text; anything longer is not ours.
    public static let maxNameBytes = 128

    /// One JSON line, without the newline.
    public func line() -> [UInt8] {
        var o: [UInt8] = []
        o.reserveCapacity(160 + (id?.utf8.count ?? 0) + profile.utf8.count + (source?.utf8.count ?? 0))
        append(to: &o)
        return o
    }

    /// The line appended to `o` in place: every answer writes one, so no piece of it is an array or a
    /// string of its own.
    public func append(to o: inout [UInt8]) {
        func key(_ k: StaticString) {
            o.append(UInt8(ascii: ","))
            o.append(UInt8(ascii: "\""))
            k.withUTF8Buffer { o.append(contentsOf: $0) }
            o.append(UInt8(ascii: "\""))
            o.append(UInt8(ascii: ":"))
        }
        func add(_ k: StaticString, _ v: String) {
            key(k)
            Self.appendJSONString(v, to: &o)
        }
        func add(_ k: StaticString, _ v: Int64) {
            key(k)
            Self.appendDecimal(v, to: &o)
        }
        let head: StaticString = #"{"v":1"#
        head.withUTF8Buffer { o.append(contentsOf: $0) }
        if let id { add("id", id) }
        key("day")
        day.appendQuoted(to: &o)
        add("profile", profile)
        if let source { add("source", source) }
        add("in", Int64(input))
        add("out", Int64(output))
        add("cached", Int64(cached))
        if let cost { add("cost", cost.nanodollars) }
        if let saved { add("saved", saved.nanodollars) }
        if answers != 1 { add("n", Int64(answers)) }
        if unpriced != 0 { add("unpriced", Int64(unpriced)) }
        o.append(UInt8(ascii: "}"))
    }

    /// `v` in decimal digits (a minus sign first when negative), one division by ten per digit.
    static func appendDecimal(_ v: Int64, to o: inout [UInt8]) {
        if v < 0 { o.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: UInt64.max has 20 digits
        withUnsafeMutableBytes(of: &buffer) { b in
            var i = b.count
            repeat {
                i -= 1
                b[i] = UInt8(truncatingIfNeeded: m % 10) + 0x30
                m /= 10
            } while m > 0 && i > 0
            o.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[i...]))
        }
    }

    /// A JSON string literal (quotes included), as `BodySplice.jsonString` writes it; names and ids
    /// rarely hold a byte to escape, so the common case copies the bytes as they are.
    static func appendJSONString(_ s: String, to o: inout [UInt8]) {
        func plain(_ b: some Collection<UInt8>) -> Bool {
            !b.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
        let copied: Bool? = s.utf8.withContiguousStorageIfAvailable { b in
            guard plain(b) else { return false }
            o.append(UInt8(ascii: "\""))
            o.append(contentsOf: b)
            o.append(UInt8(ascii: "\""))
            return true
        }
        if copied == true { return }
        if copied == nil, plain(s.utf8) {
            o.append(UInt8(ascii: "\""))
            o.append(contentsOf: s.utf8)
            o.append(UInt8(ascii: "\""))
            return
        }
        o.append(contentsOf: BodySplice.jsonString(s))
    }

    /// Reads one line back; nil for anything that is not a line this version wrote, whole and in range
    /// (a line cut by a crash, a disk error, a hand edit). The ledger is outside input like any file.
    public static func parse(_ p: UnsafeBufferPointer<UInt8>) -> LedgerEntry? {
        var s = JSONScanner(p)
        var version: Int?, id: String?, day: LocalDay?, profile: String?, source: String?
        var ints: [String: Int] = [:]
        var seen: Set<String> = []
        do {
            try s.enterObject()
            var first = true
            while try s.nextMember(&first) {
                let k = try s.key()
                switch k {
                case "v", "in", "out", "cached", "cost", "saved", "n", "unpriced":
                    guard s.peekKind() == .number, ints[k] == nil else { return nil }
                    let n = try s.number()
                    guard n.integral, let v = n.value, v >= 0 else { return nil }
                    ints[k] = v
                case "id", "day", "profile", "source":
                    // A repeated key would be read one way here and another by `jq`: not a line we wrote.
                    guard s.peekKind() == .string, seen.insert(k).inserted else { return nil }
                    let t = try s.string()
                    guard !t.isEmpty, t.utf8.count <= maxNameBytes else { return nil }
                    switch k {
                    case "id": id = t
                    case "day": day = LocalDay(t)
                    case "profile": profile = t
                    default: source = t
                    }
                default:
                    try s.skipValue()
                }
            }
            try s.expectEnd()
        } catch {
            return nil
        }
        version = ints["v"]
        guard version == 1, let day, let profile else { return nil }
        var e = LedgerEntry(id: id, day: day, profile: profile, source: source)
        let maxTokens = AnswerUsage.maxTokens
        e.input = ints["in"] ?? 0
        e.output = ints["out"] ?? 0
        e.cached = ints["cached"] ?? 0
        e.answers = ints["n"] ?? 1
        e.unpriced = ints["unpriced"] ?? 0
        // A day cannot hold more than this many answers or tokens; more is a corrupt line.
        guard e.input <= maxTokens * 1024, e.output <= maxTokens * 1024, e.cached <= e.input,
            (1...(1 << 32)).contains(e.answers), e.unpriced <= e.answers,
            // One answer's line counts one answer, and its being unpriced is its missing cost: a count
            // of its own would be counted on top (a compacted day then held more unpriced answers than
            // answers, and its summary line was refused on the next read: found by the ledger fuzzer).
            id == nil || (e.answers == 1 && e.unpriced == 0)
        else { return nil }
        e.cost = ints["cost"].map { Money(nanodollars: Int64($0)) }
        e.saved = ints["saved"].map { Money(nanodollars: Int64($0)) }
        return e
    }

    public static func parse(_ bytes: some Collection<UInt8>) -> LedgerEntry? {
        Array(bytes).withUnsafeBufferPointer { parse($0) }
    }
}

extension LedgerEntry {
    /// A finished answer's entry, as the front records it: the tokens the upstream reported, the cost at
    /// `price` ($0 for a priced profile whose usage has nothing to price; nil when unpriced), and what
    /// a local answer saved at its burst profile's price. The ledger gives it its id (`SpendLedger.record(answer:)`).
    ///
    /// `source` is the client's (`X-Hermes-Source`, `metadata.source_kind`): cut to `maxNameBytes` bytes on
    /// a character boundary, and an empty one is none, so the line always reads back.
    public static func answer(_ u: AnswerUsage, day: LocalDay, profile: String, source: String?, price: Price?,
                              burstPrice: Price?) -> LedgerEntry
    {
        var e = LedgerEntry(id: nil, day: day, profile: profile, source: source.flatMap(Self.name))
        e.input = u.input ?? 0
        e.output = u.output ?? 0
        e.cached = min(u.cached ?? 0, e.input)
        if let price { e.cost = price.cost(u) ?? .zero }
        e.saved = burstPrice?.cost(u)
        return e
    }

    /// `s` cut to at most `maxNameBytes` UTF-8 bytes without splitting a character; nil when empty.
    static func name(_ s: String) -> String? {
        guard s.utf8.count > maxNameBytes else { return s.isEmpty ? nil : s }
        var cut = Substring(s)
        while cut.utf8.count > maxNameBytes { cut = cut.dropLast() }
        return cut.isEmpty ? nil : String(cut)
    }
}
