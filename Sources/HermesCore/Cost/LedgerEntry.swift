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

    /// `2026-12`.
    public var monthText: String { String(description.prefix(7)) }

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
        var o: [UInt8] = Array(#"{"v":1"#.utf8)
        func add(_ k: String, _ v: String) { o += Array(",\"\(k)\":".utf8) + BodySplice.jsonString(v) }
        func add(_ k: String, _ v: Int64) { o += Array(",\"\(k)\":\(v)".utf8) }
        if let id { add("id", id) }
        add("day", day.description)
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
        return o
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
