import Foundation
import HermesCore
import Logging
import Synchronization

/// The front's side of cost: the ledger, and which budget warnings it has already given today.
final class FrontSpend: Sendable {
    let ledger: SpendLedger
    /// `scope/period/day` keys warned about (one event per budget per period, not per request).
    let warned = Mutex<Set<String>>([])

    init(stateDirectory: URL, events: EventLog, logger: Logger) {
        ledger = SpendLedger(directory: stateDirectory.appendingPathComponent("spend"),
                             today: LocalCalendar.day(of: Date()), logger: logger)
        for (file, line) in ledger.skipped {
            var e = JSONLine(capacity: 160)
            e.add("time", RoutingFront.iso8601(Date()))
            e.add("event", "ledger_line_skipped")
            e.add("file", file)
            e.add("line", line)
            events.append(e.finished())
        }
    }
}

extension RoutingFront {
    /// The budget verdict for sending this request to `profile` now: remote profiles only (a spent
    /// budget sends work elsewhere, and local is where it goes). Warnings past `warn_at` become one
    /// event each per period.
    func budgetVerdict(_ profile: Profile, source: String?, budgets: BudgetSettings) -> BudgetCheck.Verdict? {
        guard let spend, !profile.isLocal,
            profile.budget != nil || budgets.total != nil || source.map({ budgets.sources[$0] != nil }) == true
        else { return nil }
        let now = Date()
        let today = LocalCalendar.day(of: now)
        let resets = LocalCalendar.resets(after: now)
        let v = spend.ledger.withTotals {
            BudgetCheck.verdict(profile: profile.name, limit: profile.budget, source: source, settings: budgets,
                                totals: $0, today: today, resets: resets)
        }
        for hit in v.warnings + (v.over.map { [$0] } ?? []) {
            let key = "\(hit.scopeText)/\(hit.period.rawValue)/\(hit.period == .day ? today.description : today.monthText)/\(hit == v.over)"
            guard spend.warned.withLock({ $0.insert(key).inserted }) else { continue }
            var e = JSONLine(capacity: 200)
            e.add("time", Self.iso8601(now))
            e.add("event", hit == v.over ? "budget_reached" : "budget_warning")
            e.add("budget", hit.scopeText)
            e.add("period", hit.period.rawValue)
            e.add("limit_nusd", Int(hit.limit.nanodollars))
            e.add("spent_nusd", Int(hit.spent.nanodollars))
            e.add("resets", Self.iso8601(hit.resetsAt))
            events.append(e.finished())
            logger.warning(hit == v.over ? "budget reached" : "budget nearly spent",
                           metadata: ["budget": "\(hit.scopeText)", "period": "\(hit.period.rawValue)"])
        }
        return v
    }

    /// The 429 text for a request every provider refused for budget (or rate limits).
    static func budgetMessage(_ hits: [BudgetHit], attempts: String) -> String {
        let parts = hits.map { "\($0.description) resets at \(iso8601($0.resetsAt))" }
        return "out of budget: \(parts.joined(separator: "; ")); attempts: \(attempts)"
    }

    /// Puts a finished answer in the ledger (tokens and money only, never text).
    /// The line's id is the ledger's own (a client's `X-Request-Id` may repeat; an answer is counted once
    /// because it is written once, and a replayed line is known by this id).
    func recordSpend(_ f: RequestRecord.Fields, at date: Date) {
        guard let spend, let u = f.usage, !u.isEmpty, let profile = f.profile else { return }
        let e = LedgerEntry.answer(u, day: LocalCalendar.day(of: date), profile: profile, source: f.source, price: f.price,
                                   burstPrice: f.burstPrice)
        spend.ledger.record(answer: e)
    }
}

extension RoutingFront {
    /// A whole (not streamed) answer's usage is known before its first byte goes out: it goes in the
    /// ledger then, so an answer a client holds is counted even when the daemon is killed between the
    /// last byte and the event. A stream's usage comes at its end and is recorded with its event.
    func recordSpendBeforeSending(_ record: RequestRecord, usage: AnswerUsage) {
        guard let spend, !usage.isEmpty else { return }
        // The four fields it needs, under the record's lock (not a copy of every field).
        let e: LedgerEntry? = record.fields.withLock { f in
            guard let profile = f.profile else { return nil }
            f.spendRecorded = true
            return LedgerEntry.answer(usage, day: LocalCalendar.day(of: record.wallClock), profile: profile, source: f.source,
                                      price: f.price, burstPrice: f.burstPrice)
        }
        if let e { spend.ledger.record(answer: e) }
    }
}

extension RoutingFront {
    /// What the ledger holds (nil when it is off): `spend`, the status page, tests.
    public var spendTotals: SpendTotals? { spend?.ledger.totals }

    /// Today in the user's time zone, as the ledger files and budgets count days.
    public static func today() -> LocalDay { LocalCalendar.day(of: Date()) }
}

extension RoutingFront {
    /// The status page's cost panel: today, this month, what local saved, and every budget with what is
    /// left (`warn` past `warn_at`). Nil when the ledger is off.
    func spendPanel(_ config: HermesConfig) -> [String: Any]? {
        guard let totals = spendTotals else { return nil }
        let now = Date()
        let today = LocalCalendar.day(of: now)
        let day = totals.day(today), month = totals.month(of: today)
        let resets = LocalCalendar.resets(after: now)
        let settings = config.runtime.budgets
        var budgets: [[String: Any]] = []
        func add(_ scope: String, _ limit: BudgetLimit?, spent: (SpendSlice) -> Money) {
            guard let limit else { return }
            for (period, cap, slice, reset) in [("day", limit.day, day, resets.day), ("month", limit.month, month, resets.month)] {
                guard let cap else { continue }
                let s = spent(slice)
                budgets.append(["budget": scope, "period": period, "limit": cap.shortText, "spent": s.shortText,
                                "left": (cap - s).shortText, "warn": s.permille(of: cap) >= settings.warnAtPermille,
                                "over": s >= cap, "resets": Self.iso8601(reset)])
            }
        }
        for name in config.profileNames {
            add("profile \(name)", config.profiles[name]?.budget) { $0.byProfile[name]?.cost ?? .zero }
        }
        for (source, limit) in settings.sources.sorted(by: { $0.key < $1.key }) {
            add("source \(source)", limit) { $0.bySource[source]?.cost ?? .zero }
        }
        add("total", settings.total) { $0.total.cost }
        return [
            "today": day.total.cost.shortText, "month": month.total.cost.shortText, "saved_month": month.total.saved.shortText,
            "saved_today": day.total.saved.shortText, "answers_today": day.total.answers, "unpriced_today": day.total.unpriced,
            "budgets": budgets,
        ]
    }
}
