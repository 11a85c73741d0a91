import Foundation
import Testing

@testable import HermesCore

/// Money is exact integers; prices and budgets are validated; ledger lines round-trip and anything
/// else is refused; the budget check is a table.
@Suite struct SpendLedgerTests {
    static let day = LocalDay(year: 2026, month: 12, day: 6)!

    @Test func moneyIsExact() {
        #expect(Money(dollars: "3.00")?.nanodollars == 3_000_000_000)
        #expect(Money(dollars: "0.000000001")?.nanodollars == 1)
        #expect(Money(dollars: "5")?.shortText == "$5.00")
        #expect(Money(dollars: "0.30")?.dollarsText == "0.300000")
        for bad in ["", "-1", "1e3", "1.", ".5", "1.0000000001", "abc", "10001", "0x10", " 1", "١"] {
            #expect(Money(dollars: bad, limit: 10_000) == nil, "\(bad)")
        }
        #expect(Money.max + Money(nanodollars: 1) == .max)
        #expect(Money(nanodollars: 1) - Money(nanodollars: 5) == .zero)
        #expect(Money(nanodollars: 800).permille(of: Money(nanodollars: 1000)) == 800)
        #expect(Money.max.permille(of: Money(nanodollars: 10)) > 1000)
    }

    @Test func priceOfAnAnswer() {
        let p = Price(input: Money(dollars: "3.00")!, cachedInput: Money(dollars: "0.30")!, output: Money(dollars: "15.00")!)
        // 1000 fresh input at $3/M + 1000 cached at $0.30/M + 100 output at $15/M = 3000 + 300 + 1500 microdollars
        #expect(p.cost(AnswerUsage(input: 2000, output: 100, cached: 1000)) == Money(nanodollars: 4_800_000))
        #expect(p.cost(AnswerUsage()) == nil)
        #expect(p.cost(AnswerUsage(output: 1)) == Money(nanodollars: 15_000))
        // no cached price: cached tokens at the input price
        let flat = Price(input: Money(dollars: "2")!, output: Money(dollars: "2")!)
        #expect(flat.cost(AnswerUsage(input: 10, output: 0, cached: 10)) == Money(nanodollars: 20_000))
        // saturates, never traps
        let dear = Price(input: Money(dollars: "10000")!, output: Money(dollars: "10000")!)
        #expect(dear.cost(AnswerUsage(input: AnswerUsage.maxTokens, output: AnswerUsage.maxTokens)) == .max)
    }

    @Test func linesRoundTrip() {
        var e = LedgerEntry(id: "abc", day: Self.day, profile: "coding-burst", source: "cron \"x\"")
        e.input = 812
        e.output = 64
        e.cached = 512
        e.cost = Money(nanodollars: 4_218_000)
        #expect(LedgerEntry.parse(e.line()) == e)
        var local = LedgerEntry(id: "l", day: Self.day, profile: "coding-local")
        local.saved = Money(nanodollars: 99)
        #expect(LedgerEntry.parse(local.line()) == local)
        var sum = LedgerEntry(id: nil, day: Self.day, profile: "p")
        sum.answers = 7
        sum.unpriced = 7
        #expect(LedgerEntry.parse(sum.line()) == sum)
    }

    /// The bytes of a line are the format earlier versions wrote and read (built in place now).
    @Test func lineBytesAreTheFormat() {
        var e = LedgerEntry(id: "abc", day: LocalDay(year: 2026, month: 1, day: 9)!, profile: "coding-burst", source: "cron \"x\"\n")
        e.input = 812
        e.output = 0
        e.cached = 512
        e.cost = Money(nanodollars: .max)
        e.saved = Money(nanodollars: 10)
        #expect(String(decoding: e.line(), as: UTF8.self)
            == #"{"v":1,"id":"abc","day":"2026-01-09","profile":"coding-burst","source":"cron \"x\"\n","in":812,"out":0,"cached":512,"cost":9223372036854775807,"saved":10}"#)
        var sum = LedgerEntry(id: nil, day: Self.day, profile: "p")
        sum.answers = 1_000_000
        sum.unpriced = 3
        #expect(String(decoding: sum.line(), as: UTF8.self)
            == #"{"v":1,"day":"2026-12-06","profile":"p","in":0,"out":0,"cached":0,"n":1000000,"unpriced":3}"#)
    }

    /// An answer's entry: its cost and saving at the prices, and a client's source that always reads
    /// back (a long one of many-byte characters, cut on a character; an empty one is none).
    @Test func answerEntryAlwaysReadsBack() {
        let u = AnswerUsage(input: 2000, output: 100, cached: 3000)
        let p = Price(input: Money(dollars: "3.00")!, cachedInput: Money(dollars: "0.30")!, output: Money(dollars: "15.00")!)
        let long = String(repeating: "é€", count: 100)
        for (source, kept) in [(long, String(repeating: "é€", count: 25) + "é"), ("", nil), ("cron", "cron"), (nil, nil)] as [(String?, String?)] {
            var e = LedgerEntry.answer(u, day: Self.day, profile: "cloud", source: source, price: p, burstPrice: nil)
            #expect(e.source == kept)
            #expect(e.cached == 2000)
            #expect(e.cost == p.cost(u))
            #expect(e.saved == nil)
            e.id = "ab12-1"
            #expect(LedgerEntry.parse(e.line()) == e)
        }
        let local = LedgerEntry.answer(u, day: Self.day, profile: "local", source: nil, price: nil, burstPrice: p)
        #expect(local.cost == nil)
        #expect(local.saved == p.cost(u))
        // Priced, but nothing reported to price: $0, not unpriced.
        #expect(LedgerEntry.answer(AnswerUsage(), day: Self.day, profile: "c", source: nil, price: p, burstPrice: nil).cost == .zero)
    }

    /// The month a budget reads is the sum of its days, kept as entries come in.
    @Test func monthIsTheSumOfItsDays() {
        var t = SpendTotals()
        for (i, (m, d)) in [(11, 30), (12, 1), (12, 6), (12, 6), (12, 31), (1, 1)].enumerated() {
            var e = LedgerEntry(id: "m\(i)", day: LocalDay(year: m == 1 ? 2027 : 2026, month: m, day: d)!, profile: i % 2 == 0 ? "a" : "b",
                                source: i == 2 ? "cron" : nil)
            e.input = 10 * (i + 1)
            e.cost = i == 4 ? nil : Money(nanodollars: Int64(1000 * (i + 1)))
            t.add(e)
        }
        for day in [LocalDay(year: 2026, month: 11, day: 2)!, Self.day, LocalDay(year: 2027, month: 1, day: 20)!, LocalDay(year: 2025, month: 12, day: 6)!] {
            var sum = SpendSlice()
            for (d, slice) in t.days where d.sameMonth(day) { sum.add(slice) }
            #expect(t.month(of: day) == sum)
        }
        #expect(t.month(of: Self.day).total.cost == Money(nanodollars: 2000 + 3000 + 4000))
        #expect(t.month(of: Self.day).total.unpriced == 1)
        #expect(t.month(of: Self.day).bySource["cron"]?.input == 30)
    }

    @Test(arguments: [
        "", "{}", #"{"v":2,"day":"2026-12-06","profile":"p"}"#, #"{"v":1,"day":"2026-13-06","profile":"p"}"#,
        #"{"v":1,"day":"2026-12-06","profile":"p","in":-1}"#, #"{"v":1,"day":"2026-12-06","profile":"p","cost":1.5}"#,
        #"{"v":1,"day":"2026-12-06","profile":"p","in":1,"cached":2}"#, #"{"v":1,"day":"2026-12-06","profile":""}"#,
        #"{"v":1,"day":"2026-12-06","profile":"p","n":0}"#, #"{"v":1,"day":"2026-12-06","profile":"p","id":"x","n":3}"#,
        #"{"v":1,"day":"2026-12-06","profile":"p","in":1,"in":2}"#, #"{"v":1,"day":"2026-12-06","profile":"p"} {"#,
        #"{"v":1,"day":"2026-12-06","profile":"p","cost":99999999999999999999}"#, #"{"v":1,"day":"2026-12-0"#,
        #"{"v":1,"day":"2026-12-06","day":"2013-12-06","profile":"p"}"#,
    ])
    func corruptLinesAreRefused(_ line: String) {
        #expect(LedgerEntry.parse(Array(line.utf8)) == nil)
    }

    @Test func totalsAndCompaction() {
        var entries: [LedgerEntry] = []
        for i in 0..<5 {
            var e = LedgerEntry(id: "r\(i)", day: Self.day, profile: i < 3 ? "cloud" : "local", source: i == 0 ? "cron" : nil)
            e.input = 100
            e.output = 10
            e.cost = i < 3 ? Money(nanodollars: 1000) : nil
            e.saved = i >= 3 ? Money(nanodollars: 500) : nil
            entries.append(e)
        }
        var raw = SpendTotals()
        entries.forEach { raw.add($0) }
        var compacted = SpendTotals()
        SpendTotals.compact(entries).forEach { compacted.add($0) }
        #expect(SpendTotals.compact(entries).count == 3)
        for t in [raw, compacted] {
            let d = t.day(Self.day)
            #expect(d.total.cost == Money(nanodollars: 3000))
            #expect(d.total.saved == Money(nanodollars: 1000))
            #expect(d.total.answers == 5)
            #expect(d.total.unpriced == 2)
            #expect(d.byProfile["cloud"]?.input == 300)
            #expect(d.bySource["cron"]?.cost == Money(nanodollars: 1000))
        }
        // Days are never merged (a fuzz find: two days of one profile became one).
        var other = entries[0]
        other.day = LocalDay(year: 2013, month: 12, day: 6)!
        #expect(SpendTotals.compact(entries + [other]).count == 4)
        // A compacted line survives its own round trip.
        for c in SpendTotals.compact(entries) { #expect(LedgerEntry.parse(c.line()) == c) }
    }

    static let resets = BudgetResets(day: Date(timeIntervalSince1970: 1_765_065_600), month: Date(timeIntervalSince1970: 1_767_225_600))

    static func totals(cloud: Int64, cron: Int64 = 0, earlierThisMonth: Int64 = 0) -> SpendTotals {
        var t = SpendTotals()
        var a = LedgerEntry(id: "a", day: day, profile: "cloud")
        a.cost = Money(nanodollars: cloud)
        t.add(a)
        var b = LedgerEntry(id: "b", day: day, profile: "cloud", source: "cron")
        b.cost = Money(nanodollars: cron)
        t.add(b)
        var c = LedgerEntry(id: "c", day: LocalDay(year: 2026, month: 12, day: 1)!, profile: "cloud")
        c.cost = Money(nanodollars: earlierThisMonth)
        t.add(c)
        var other = LedgerEntry(id: "d", day: LocalDay(year: 2026, month: 11, day: 30)!, profile: "cloud")
        other.cost = Money(nanodollars: 1 << 50)  // last month never counts
        t.add(other)
        return t
    }

    static let dollar: Int64 = 1_000_000_000

    @Test(arguments: [
        // (profile day/month, total day, cron day, spent cloud today, spent by cron, earlier this month) -> over, warnings
        (BudgetLimit(day: Money(nanodollars: 5 * dollar)), nil, nil, 4 * dollar, 0, 0, nil, [BudgetHit.Period.day]),
        (BudgetLimit(day: Money(nanodollars: 5 * dollar)), nil, nil, 3 * dollar, 0, 0, nil, []),
        (BudgetLimit(day: Money(nanodollars: 5 * dollar)), nil, nil, 5 * dollar, 0, 0, BudgetHit.Period.day, []),
        (BudgetLimit(day: Money(nanodollars: 5 * dollar), month: Money(nanodollars: 6 * dollar)), nil, nil, 5 * dollar, 0, 2 * dollar,
         BudgetHit.Period.month, []),
        (BudgetLimit(month: Money(nanodollars: 10 * dollar)), nil, nil, 1 * dollar, 0, 7 * dollar, nil, [BudgetHit.Period.month]),
        (nil, Money(nanodollars: 2 * dollar), nil, 1 * dollar, 1 * dollar, 0, BudgetHit.Period.day, []),
        (nil, nil, Money(nanodollars: dollar), 10 * dollar, dollar / 2, 0, nil, []),
        (nil, nil, Money(nanodollars: dollar), 10 * dollar, dollar, 0, BudgetHit.Period.day, []),
        (nil, nil, nil, 1 << 60, 0, 0, nil, []),
    ] as [(BudgetLimit?, Money?, Money?, Int64, Int64, Int64, BudgetHit.Period?, [BudgetHit.Period])])
    func budgetTable(_ limit: BudgetLimit?, _ total: Money?, _ cron: Money?, _ spent: Int64, _ byCron: Int64, _ earlier: Int64,
                     _ over: BudgetHit.Period?, _ warnings: [BudgetHit.Period])
    {
        var s = BudgetSettings()
        s.total = total.map { BudgetLimit(day: $0) }
        if let cron { s.sources["cron"] = BudgetLimit(day: cron) }
        let v = BudgetCheck.verdict(profile: "cloud", limit: limit, source: "cron", settings: s,
                                    totals: Self.totals(cloud: spent, cron: byCron, earlierThisMonth: earlier), today: Self.day, resets: Self.resets)
        #expect(v.over?.period == over)
        #expect(v.warnings.map(\.period) == warnings)
        if over == .month { #expect(v.over?.resetsAt == Self.resets.month) }
        if over == .day { #expect(v.over?.resetsAt == Self.resets.day) }
    }

    @Test func overBudgetIsARateLimitNamedBudget() {
        let p = Profile(name: "cloud", kind: .openai(OpenAISettings()), source: SourceLocation(file: "x"))
        let ends = [AttemptEnd(profile: "cloud", isLocal: false, kind: .overBudget, retryAfter: 30)]
        #expect(AttemptPlan.giveUp(ends) == GiveUp(status: 429, type: "requests", code: "budget_exceeded", retryAfter: 30))
        let step = AttemptPlan.next(after: ends[0], profile: p, policy: RoutingPolicy(profiles: [:], front: FrontSettings()),
                                    burstTried: false)
        #expect(step.cooldown == nil && step.fallbackReason == "budget")
        #expect(BudgetCheck.localRefuge([BurstHop(from: "l", to: "c", reason: .overflow, detail: "")]) == "l")
        #expect(BudgetCheck.localRefuge([BurstHop(from: "l", to: "c", reason: .context, detail: "")]) == nil)
        #expect(BudgetCheck.localRefuge([]) == nil)
    }
}

extension SpendLedgerTests {
    /// Every committed ledger fuzz input (seeds and any saved crash) reads without a trap.
    @Test func fuzzCorpusReads() throws {
        let files = try FuzzCorpusTests.corpus("ledger")
        #expect(!files.isEmpty)
        for f in files {
            let data = try Data(contentsOf: f)
            for line in data.split(separator: 0x0A) {
                if let e = LedgerEntry.parse(line) { #expect(LedgerEntry.parse(e.line()) == e) }
            }
        }
    }
}
