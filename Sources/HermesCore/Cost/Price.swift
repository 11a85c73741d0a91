/// An amount of money in whole nanodollars (10^-9 USD): integer, so a month of small answers adds up
/// exactly, and an Int64 holds 9.2 billion dollars. Arithmetic saturates, it never traps.
public struct Money: Sendable, Equatable, Hashable, Comparable, Codable {
    public var nanodollars: Int64

    public init(nanodollars: Int64) { self.nanodollars = Swift.max(0, nanodollars) }

    public static let zero = Money(nanodollars: 0)
    public static let max = Money(nanodollars: .max)

    /// `dollars` as written in config (`5.00`), exactly: at most 9 decimals, at most `limit` dollars.
    public init?(dollars text: String, limit: Int64 = 1_000_000_000) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 10, whole.allSatisfy(\.isASCIIDigitCharacter),
            let w = Int64(whole), w <= limit
        else { return nil }
        var frac: Int64 = 0
        if parts.count == 2 {
            let f = parts[1]
            guard !f.isEmpty, f.count <= 9, f.allSatisfy(\.isASCIIDigitCharacter), let v = Int64(f) else { return nil }
            frac = v
            for _ in f.count..<9 { frac *= 10 }
        }
        let n = w * 1_000_000_000 + frac  // w <= 1e9: at most 1e18, inside Int64
        guard n <= limit * 1_000_000_000 else { return nil }
        self.init(nanodollars: n)
    }

    public static func + (a: Money, b: Money) -> Money {
        let (s, o) = a.nanodollars.addingReportingOverflow(b.nanodollars)
        return o ? .max : Money(nanodollars: s)
    }

    public static func - (a: Money, b: Money) -> Money {
        Money(nanodollars: a.nanodollars > b.nanodollars ? a.nanodollars - b.nanodollars : 0)
    }

    public static func < (a: Money, b: Money) -> Bool { a.nanodollars < b.nanodollars }

    /// `0.004218`: dollars to the micro-dollar (rounded down), no currency sign, for headers and tables.
    public var dollarsText: String {
        let micro = nanodollars / 1000
        let frac = String(micro % 1_000_000)
        return "\(micro / 1_000_000)." + String(repeating: "0", count: 6 - frac.count) + frac
    }

    /// `$12.35`: to the cent, for people.
    public var shortText: String {
        let cents = nanodollars / 10_000_000
        let c = cents % 100
        return "$\(cents / 100).\(c < 10 ? "0" : "")\(c)"
    }

    /// The fraction `self / of` in thousandths (0 when `of` is zero), without Double.
    public func permille(of total: Money) -> Int {
        guard total.nanodollars > 0 else { return 0 }
        let (p, o) = nanodollars.multipliedReportingOverflow(by: 1000)
        return o ? Int(nanodollars / Swift.max(1, total.nanodollars / 1000)) : Int(p / total.nanodollars)
    }
}

/// What a profile's tokens cost, in dollars per million tokens (`price: {input: 3.00, cached_input: 0.30,
/// output: 15.00}`); held as nanodollars per million, so `3.00` is exact and so is `0.000001`.
public struct Price: Sendable, Equatable, Codable {
    public var input: Money
    /// Provider-cached input tokens; nil: the same as `input`.
    public var cachedInput: Money?
    public var output: Money

    /// The largest price per million tokens the config accepts (no model costs this much).
    public static let maxDollarsPerMillion: Int64 = 10_000

    public init(input: Money, cachedInput: Money? = nil, output: Money) {
        self.input = input
        self.cachedInput = cachedInput
        self.output = output
    }

    /// The cost of one answer's tokens; nil when the upstream reported neither input nor output.
    public func cost(_ u: AnswerUsage) -> Money? {
        guard u.input != nil || u.output != nil else { return nil }
        let input = Int64(clamping: u.input ?? 0)
        let cached = Int64(clamping: Swift.min(u.cached ?? 0, u.input ?? 0))
        return Self.times(input - cached, input: self.input) + Self.times(cached, input: cachedInput ?? self.input)
            + Self.times(Int64(clamping: u.output ?? 0), input: output)
    }

    /// `tokens` at `perMillion`, rounded down to the nanodollar; saturates instead of overflowing.
    static func times(_ tokens: Int64, input perMillion: Money) -> Money {
        guard tokens > 0 else { return .zero }
        let (p, o) = tokens.multipliedReportingOverflow(by: perMillion.nanodollars)
        return o ? .max : Money(nanodollars: p / 1_000_000)
    }
}
