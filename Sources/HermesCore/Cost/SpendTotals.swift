/// Tokens and money summed over some answers.
public struct SpendBucket: Sendable, Equatable {
    public var cost = Money.zero
    public var saved = Money.zero
    public var input = 0
    public var output = 0
    public var cached = 0
    public var answers = 0
    public var unpriced = 0

    public init() {}

    /// Adds without trapping: token counts saturate (a ledger is read from disk), money saturates.
    public mutating func add(_ e: LedgerEntry) {
        func plus(_ a: Int, _ b: Int) -> Int { a.addingReportingOverflow(b).overflow ? .max : a + b }
        cost = cost + (e.cost ?? .zero)
        saved = saved + (e.saved ?? .zero)
        input = plus(input, e.input)
        output = plus(output, e.output)
        cached = plus(cached, e.cached)
        answers = plus(answers, e.answers)
        unpriced = plus(unpriced, e.unpriced + (e.cost == nil && e.id != nil ? 1 : 0))
    }

    public mutating func add(_ b: SpendBucket) {
        func plus(_ a: Int, _ b: Int) -> Int { a.addingReportingOverflow(b).overflow ? .max : a + b }
        cost = cost + b.cost
        saved = saved + b.saved
        input = plus(input, b.input)
        output = plus(output, b.output)
        cached = plus(cached, b.cached)
        answers = plus(answers, b.answers)
        unpriced = plus(unpriced, b.unpriced)
    }
}

/// One period's spend, in total, per profile and per source.
public struct SpendSlice: Sendable, Equatable {
    public var total = SpendBucket()
    public var byProfile: [String: SpendBucket] = [:]
    public var bySource: [String: SpendBucket] = [:]

    public init() {}

    public mutating func add(_ e: LedgerEntry) {
        total.add(e)
        byProfile[e.profile, default: SpendBucket()].add(e)
        if let s = e.source { bySource[s, default: SpendBucket()].add(e) }
    }

    public mutating func add(_ o: SpendSlice) {
        total.add(o.total)
        for (k, v) in o.byProfile { byProfile[k, default: SpendBucket()].add(v) }
        for (k, v) in o.bySource { bySource[k, default: SpendBucket()].add(v) }
    }
}

/// Everything the ledger holds, by day; what budgets, `spend` and the status page read.
/// Each month's sum is kept as entries come in, so a budget check reads it instead of adding up the
/// month's days on every request.
public struct SpendTotals: Sendable, Equatable {
    public private(set) var days: [LocalDay: SpendSlice] = [:]
    /// Keyed by the month's first day.
    private(set) var months: [LocalDay: SpendSlice] = [:]
    public init() {}

    public mutating func add(_ e: LedgerEntry) {
        days[e.day, default: SpendSlice()].add(e)
        months[e.day.firstOfMonth, default: SpendSlice()].add(e)
    }

    public func day(_ d: LocalDay) -> SpendSlice { days[d] ?? SpendSlice() }

    /// The month `d` is in, up to and including every day held.
    public func month(of d: LocalDay) -> SpendSlice { months[d.firstOfMonth] ?? SpendSlice() }

    /// The days from `start` on, summed.
    public func since(_ start: LocalDay) -> SpendSlice {
        var out = SpendSlice()
        for (k, v) in days where k >= start { out.add(v) }
        return out
    }

    /// Entries compacted: one line per (day, profile, source) with its answer count.
    public static func compact(_ entries: [LedgerEntry]) -> [LedgerEntry] {
        struct Key: Hashable { var day: LocalDay; var profile: String; var source: String? }
        var out: [Key: LedgerEntry] = [:]
        var order: [Key] = []
        for e in entries {
            let k = Key(day: e.day, profile: e.profile, source: e.source)
            guard var c = out[k] else {
                var first = e
                first.id = nil
                first.unpriced = e.unpriced + (e.cost == nil && e.id != nil ? 1 : 0)
                first.cost = e.cost ?? .zero
                out[k] = first
                order.append(k)
                continue
            }
            func plus(_ a: Int, _ b: Int) -> Int { a.addingReportingOverflow(b).overflow ? .max : a + b }
            c.input = plus(c.input, e.input)
            c.output = plus(c.output, e.output)
            c.cached = plus(c.cached, e.cached)
            c.answers = plus(c.answers, e.answers)
            c.unpriced = plus(c.unpriced, e.unpriced + (e.cost == nil && e.id != nil ? 1 : 0))
            c.cost = (c.cost ?? .zero) + (e.cost ?? .zero)
            c.saved = e.saved.map { ($0 + (c.saved ?? .zero)) } ?? c.saved
            out[k] = c
        }
        return order.compactMap { out[$0] }
    }
}
