import Foundation
import Yams

extension ConfigLoader {
    static let budgetKeys = ["day", "month"]
    static let budgetsKeys = ["warn_at", "total", "sources"]

    /// `budget: {day: 5.00, month: 50.00}`: dollars, each 0...1e9 (a day or a month, or both).
    static func parseBudget(_ node: Node, path: String, reader: YAMLReader) -> BudgetLimit? {
        var b = BudgetLimit()
        guard let fields = reader.mapping(node, path: path, allowed: budgetKeys) else { return nil }
        for f in fields where !YAMLReader.isEmpty(f.value) {
            let m = dollars(f.value, path: "\(path).\(f.key)", limit: 1_000_000_000, reader: reader)
            if f.key == "day" { b.day = m } else { b.month = m }
        }
        return b
    }

    /// `budgets:` in runtime.yaml: `warn_at` (0...1, default 0.8), `total`, `sources: {NAME: budget}`.
    static func parseBudgets(_ node: Node, reader: YAMLReader) -> BudgetSettings {
        var s = BudgetSettings()
        for f in reader.mapping(node, path: "budgets", allowed: budgetsKeys) ?? [] where !YAMLReader.isEmpty(f.value) {
            switch f.key {
            case "warn_at":
                if let m = dollars(f.value, path: "budgets.warn_at", limit: 1, reader: reader) {
                    s.warnAtPermille = Int(m.nanodollars / 1_000_000)
                }
            case "total":
                s.total = parseBudget(f.value, path: "budgets.total", reader: reader)
            default:
                for src in reader.mapping(f.value, path: "budgets.sources", allowed: nil) ?? [] where !YAMLReader.isEmpty(src.value) {
                    if let b = parseBudget(src.value, path: "budgets.sources.\(src.key)", reader: reader) { s.sources[src.key] = b }
                }
            }
        }
        return s
    }
}
