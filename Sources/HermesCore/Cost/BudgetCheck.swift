import Foundation

/// A spending limit per local day and per local month (`budget: {day: 5.00, month: 50.00}`).
public struct BudgetLimit: Sendable, Equatable, Codable {
    public var day: Money?
    public var month: Money?

    public init(day: Money? = nil, month: Money? = nil) {
        self.day = day
        self.month = month
    }
}

/// `budgets:` in runtime.yaml: the total, per source (`X-Hermes-Source`), and when to warn.
public struct BudgetSettings: Sendable, Equatable, Codable {
    /// Warn at this share of a limit, in thousandths (`warn_at: 0.8` is 800).
    public var warnAtPermille = 800
    public var total: BudgetLimit?
    public var sources: [String: BudgetLimit] = [:]

    public init() {}
}

/// When the current local day and month end.
public struct BudgetResets: Sendable, Equatable {
    public var day: Date
    public var month: Date

    public init(day: Date, month: Date) {
        self.day = day
        self.month = month
    }
}

/// One budget reached (or near): which, over what period, how much of it, and when it resets.
public struct BudgetHit: Sendable, Equatable {
    public enum Scope: Sendable, Equatable, Hashable {
        case total
        case profile(String)
        case source(String)
    }

    public enum Period: String, Sendable, Equatable { case day, month }

    public var scope: Scope
    public var period: Period
    public var limit: Money
    public var spent: Money
    public var resetsAt: Date

    /// `profile coding-burst`, `source cron`, `total`.
    public var scopeText: String {
        switch scope {
        case .total: return "total"
        case .profile(let p): return "profile \(p)"
        case .source(let s): return "source \(s)"
        }
    }

    /// `the daily budget of profile coding-burst ($5.00; spent $5.02)`.
    public var description: String {
        "the \(period == .day ? "daily" : "monthly") budget of \(scopeText) (\(limit.shortText); spent \(spent.shortText))"
    }
}

/// The budget check before a request is sent to a priced cloud profile: the ledger's totals, the limits
/// and the time in, a verdict out. No I/O, so its tests are tables.
public enum BudgetCheck {
    public struct Verdict: Sendable, Equatable {
        /// The budget that stops this profile now (the one resetting last, when several do).
        public var over: BudgetHit?
        /// Budgets past `warn_at` but not reached.
        public var warnings: [BudgetHit] = []

        public init(over: BudgetHit? = nil, warnings: [BudgetHit] = []) {
            self.over = over
            self.warnings = warnings
        }
    }

    /// Checks the profile's own budget, the source's and the total, for today and this month.
    /// Spent counts priced answers only; a limit is reached when spent >= limit.
    public static func verdict(profile: String, limit: BudgetLimit?, source: String?, settings: BudgetSettings,
                               totals: SpendTotals, today: LocalDay, resets: BudgetResets) -> Verdict
    {
        var scopes: [(BudgetHit.Scope, BudgetLimit)] = []
        if let limit { scopes.append((.profile(profile), limit)) }
        if let source, let l = settings.sources[source] { scopes.append((.source(source), l)) }
        if let l = settings.total { scopes.append((.total, l)) }
        guard !scopes.isEmpty else { return Verdict() }
        let day = totals.day(today)
        let month = totals.month(of: today)
        var out = Verdict()
        for (scope, l) in scopes {
            for (period, cap, slice, reset) in [(BudgetHit.Period.day, l.day, day, resets.day), (.month, l.month, month, resets.month)] {
                guard let cap else { continue }
                let spent: Money
                switch scope {
                case .total: spent = slice.total.cost
                case .profile(let p): spent = slice.byProfile[p]?.cost ?? .zero
                case .source(let s): spent = slice.bySource[s]?.cost ?? .zero
                }
                let hit = BudgetHit(scope: scope, period: period, limit: cap, spent: spent, resetsAt: reset)
                if spent >= cap {
                    if out.over.map({ $0.resetsAt < reset }) ?? true { out.over = hit }
                } else if spent.permille(of: cap) >= settings.warnAtPermille {
                    out.warnings.append(hit)
                }
            }
        }
        return out
    }
}

extension BudgetCheck {
    /// Where a request goes when every cloud profile it burst to is out of budget: back to the local
    /// profile it left, when that one can take it (it only left because its slots were busy or its
    /// model was loading: the request waits there instead). Nil when local cannot (down, prompt too long,
    /// no memory, an image): then the answer is 429.
    public static func localRefuge(_ hops: [BurstHop]) -> String? {
        guard let first = hops.first, [.overflow, .loading].contains(first.reason) else { return nil }
        return first.from
    }
}

extension BudgetCheck {
    /// Every budget in `config` that is reached (the binding period of each) or past `warn_at`: what
    /// `status` warns about.
    public static func standing(_ config: HermesConfig, totals: SpendTotals, today: LocalDay, resets: BudgetResets)
        -> (over: [BudgetHit], warnings: [BudgetHit])
    {
        let settings = config.runtime.budgets
        var checks: [(String, BudgetLimit?, String?, BudgetSettings)] = []
        var only = BudgetSettings()
        only.warnAtPermille = settings.warnAtPermille
        for name in config.profileNames where config.profiles[name]?.budget != nil {
            checks.append((name, config.profiles[name]?.budget, nil, only))
        }
        for source in settings.sources.keys.sorted() {
            var s = only
            s.sources = [source: settings.sources[source]!]
            checks.append(("", nil, source, s))
        }
        var total = only
        total.total = settings.total
        checks.append(("", nil, nil, total))
        var over: [BudgetHit] = [], warnings: [BudgetHit] = []
        for (profile, limit, source, s) in checks {
            let v = verdict(profile: profile, limit: limit, source: source, settings: s, totals: totals, today: today, resets: resets)
            if let o = v.over { over.append(o) }
            warnings += v.warnings
        }
        return (over, warnings)
    }
}
