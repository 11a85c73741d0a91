import ArgumentParser
import Foundation
import HermesCore
import HermesFront
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `hermes-bench ledger`: the spend ledger's cost per answer, in one process, next to its floor.
///
/// The floor is what the ledger must keep: one `write(2)` of a line of the same length to a file opened
/// with `O_APPEND` (the line is in the kernel before the answer's event, so a `kill -9` loses nothing).
/// Then the front's whole per-answer path (the local day, the entry, its line, the write, the totals)
/// and its parts; then the budget check a request to a priced cloud profile pays, against a month of
/// totals.
struct LedgerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "The spend ledger's CPU per answer, beside a bare write(2) of the same line."
    )

    @Option(help: "Answers per measurement.")
    var iterations = 200_000

    @Option(help: "Rounds (each measurement is run this many times, interleaved; the table shows the median).")
    var rounds = 5

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hermes-bench-ledger-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let today = LocalCalendar.day(of: Date())
        var logger = Logger(label: "hermes.bench.ledger")
        logger.logLevel = .error
        let ledger = SpendLedger(directory: dir.appendingPathComponent("spend"), today: today, logger: logger)
        let price = Price(input: Money(dollars: "3.00")!, cachedInput: Money(dollars: "0.30")!, output: Money(dollars: "15.00")!)
        let usage = AnswerUsage(input: 812, output: 64, cached: 512)

        // A month of spend behind the budget check: 3 profiles x 2 sources x 30 days.
        let history = SpendLedger(directory: dir.appendingPathComponent("history"), today: today, logger: logger)
        for d in 1...30 {
            guard let day = LocalDay(year: today.year, month: today.month, day: min(d, 28)) else { continue }
            for p in ["coding-burst", "coding-local", "reasoning-cloud"] {
                for s in ["cron", "editor"] {
                    var e = LedgerEntry(id: "h-\(d)-\(p)-\(s)", day: day, profile: p, source: s)
                    e.input = 1000
                    e.output = 100
                    e.cost = price.cost(usage)
                    history.record(e)
                }
            }
        }
        var budgets = BudgetSettings()
        budgets.total = BudgetLimit(day: Money(dollars: "1000")!, month: Money(dollars: "10000")!)
        budgets.sources["cron"] = BudgetLimit(day: Money(dollars: "100")!)
        let limit = BudgetLimit(day: Money(dollars: "500")!, month: Money(dollars: "5000")!)

        var sample = Self.entry(usage, price: price, day: today)
        sample.id = "9f3c2a1b0d4e5f67-1048576"  // a line as long as the ledger writes
        var line = sample.line()
        line.append(0x0A)
        let floorFD = open(dir.appendingPathComponent("floor.jsonl").path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard floorFD >= 0 else { throw ValidationError("cannot open a file in \(dir.path)") }
        defer { close(floorFD) }

        let rows: [(String, String, () -> Void)] = [
            ("floor: write(2) of the line (O_APPEND)", "\(line.count) bytes", {
                _ = line.withUnsafeBytes { write(floorFD, $0.baseAddress, $0.count) }
            }),
            ("the front's per-answer path: day, entry, line, write, totals", "local profile, priced", {
                ledger.record(answer: Self.entry(usage, price: price, day: LocalCalendar.day(of: Date())))
            }),
            ("part: LocalCalendar.day(of: now)", "", { _ = LocalCalendar.day(of: Date()) }),
            ("part: the entry and its line", "", { _ = Self.entry(usage, price: price, day: today).line() }),
            ("budget check: day, resets, verdict", "cloud profile, 180 entries this month", {
                let now = Date()
                let today = LocalCalendar.day(of: now), resets = LocalCalendar.resets(after: now)
                _ = history.withTotals {
                    BudgetCheck.verdict(profile: "coding-burst", limit: limit, source: "cron", settings: budgets,
                                        totals: $0, today: today, resets: resets)
                }
            }),
        ]
        var results = Array(repeating: [Duration](), count: rows.count)
        for i in rows.indices { for _ in 0..<(iterations / 20) { rows[i].2() } }  // warm up
        for _ in 0..<rounds {
            for i in rows.indices {
                let t0 = ContinuousClock.now
                for _ in 0..<iterations { rows[i].2() }
                results[i].append((ContinuousClock.now - t0) / iterations)
            }
        }
        print("| measurement | note | median per answer | min |")
        print("|---|---|---|---|")
        for (i, r) in rows.enumerated() {
            let sorted = results[i].sorted()
            print("| \(r.0) | \(r.1) | \(Self.ns(sorted[sorted.count / 2])) | \(Self.ns(sorted[0])) |")
        }
    }

    /// As the front builds an answer's entry (`RoutingFront.recordSpend`): a local answer, priced, with
    /// what it saved.
    static func entry(_ u: AnswerUsage, price: Price, day: LocalDay) -> LedgerEntry {
        LedgerEntry.answer(u, day: day, profile: "coding-local", source: "cron", price: price, burstPrice: price)
    }

    static func ns(_ d: Duration) -> String {
        let ns = Double(d.components.attoseconds) / 1e9 + Double(d.components.seconds) * 1e9
        return ns >= 1000 ? String(format: "%.2f us", ns / 1000) : String(format: "%.0f ns", ns)
    }
}
