import ArgumentParser
import Foundation
import HermesCore

/// `hermes-runtime spend [--by profile|source|day] [--since 7d|month] [--json]`: what answers cost and
/// what staying local saved, from the ledger in the state directory (read only; the daemon need not run).
struct SpendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spend", abstract: "Show tokens, cost and what local saved, from the spend ledger.")

    enum By: String, ExpressibleByArgument, CaseIterable { case profile, source, day }

    @OptionGroup var global: GlobalOptions

    @Option(help: "Group by profile, source or day.")
    var by: By = .profile

    @Option(help: "From how far back: Nd (1-400 days, today included) or month (this month).")
    var since = "month"

    func run() throws {
        let now = Date()
        let today = LocalCalendar.day(of: now)
        let start: LocalDay
        if since == "month" {
            start = LocalDay(year: today.year, month: today.month, day: 1)!
        } else if since.hasSuffix("d"), let n = Int(since.dropLast()), (1...400).contains(n) {
            start = LocalCalendar.day(of: now.addingTimeInterval(-Double(n - 1) * 86_400))
        } else {
            throw CLIError("--since takes Nd (1 to 400 days, e.g. 7d) or month, not '\(since)'", code: "bad_option")
        }
        let dir = global.paths().stateDirectory.appendingPathComponent("spend")
        let (totals, skipped) = LedgerReader.load(directory: dir)
        var rows: [(String, SpendBucket)] = []
        switch by {
        case .profile: rows = totals.since(start).byProfile.sorted { $0.key < $1.key }
        case .source: rows = totals.since(start).bySource.sorted { $0.key < $1.key }
        case .day: rows = totals.days.filter { $0.key >= start }.sorted { $0.key < $1.key }.map { ($0.key.description, $0.value.total) }
        }
        let all = totals.since(start).total
        let todayCost = totals.day(today).total.cost, month = totals.month(of: today).total
        if global.json {
            func row(_ key: String, _ b: SpendBucket) -> [String: Any] {
                var r: [String: Any] = ["key": key, "answers": b.answers, "input": b.input, "output": b.output, "cached": b.cached,
                                        "cost_usd": b.cost.dollarsText, "saved_usd": b.saved.dollarsText, "unpriced": b.unpriced]
                if b.unpriced == b.answers { r["cost_usd"] = "unpriced" }
                return r
            }
            let out: [String: Any] = [
                "since": start.description, "by": by.rawValue, "rows": rows.map { row($0.0, $0.1) }, "total": row("total", all),
                "today_usd": todayCost.dollarsText, "month_usd": month.cost.dollarsText, "saved_month_usd": month.saved.dollarsText,
                "skipped_lines": skipped,
            ]
            let data = try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("spend since \(start) (local time), by \(by.rawValue)")
        var table = [[by.rawValue.uppercased(), "ANSWERS", "INPUT", "OUTPUT", "CACHED", "COST", "SAVED"]]
        for (k, b) in rows + [("total", all)] {
            // Unpriced is not $0: a profile without a price shows its tokens and says so.
            let cost = b.unpriced == b.answers ? "unpriced" : "$" + b.cost.dollarsText + (b.unpriced > 0 ? " (+\(b.unpriced) unpriced)" : "")
            table.append([k, "\(b.answers)", "\(b.input)", "\(b.output)", "\(b.cached)", cost, b.saved.nanodollars > 0 ? "$" + b.saved.dollarsText : "-"])
        }
        let widths = (0..<7).map { c in table.map { $0[c].count }.max() ?? 0 }
        for r in table {
            print(r.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
        print("today \(todayCost.shortText) · this month \(month.cost.shortText) · local saved this month \(month.saved.shortText)")
        if skipped > 0 { print("(\(skipped) unreadable ledger lines skipped)") }
    }

    /// `status`'s budget lines: each budget reached (with its reset) or past `warn_at`, from the config
    /// and the ledger; none when the config does not load or sets no budget.
    static func budgetWarnings(paths: RuntimePaths) -> [String] {
        guard let config = try? ConfigLoader.load(paths: paths) else { return [] }
        let now = Date()
        let (totals, _) = LedgerReader.load(directory: paths.stateDirectory.appendingPathComponent("spend"))
        let s = BudgetCheck.standing(config, totals: totals, today: LocalCalendar.day(of: now), resets: LocalCalendar.resets(after: now))
        let format = ISO8601DateFormatter()
        return s.over.map { "OUT OF BUDGET: \($0.description); resets \(format.string(from: $0.resetsAt)) (`hermes-runtime spend`)" }
            + s.warnings.map { "warning: \($0.description): \(($0.limit - $0.spent).shortText) left" }
    }
}
