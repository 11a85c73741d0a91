import Foundation
import Testing

@testable import HermesCore

/// `price:` and `budget:` on profiles and `budgets:` in runtime.yaml: read exactly, refused at
/// file:line:column naming the key, inherited through `extends`.
@Suite struct CostConfigTests {
    func profiles(_ files: [(String, String)]) -> ([String: Profile], [ConfigDiagnostic]) {
        ConfigLoader.parseProfiles(files.map { ($0.0, "\($0.0).yaml", $0.1) }, environment: [:])
    }

    @Test func priceAndBudgetAreReadAndInherited() {
        let (p, d) = profiles([
            ("coding-burst", """
            kind: openai
            base_url: https://openrouter.ai/api/v1
            price: {input: 3.00, cached_input: 0.30, output: 15.00}
            budget: {day: 5.00, month: 50}
            """),
            ("review-cheap", "kind: openai\nextends: coding-burst\nbudget: {day: 1}\n"),
            ("coding-local", "kind: llama-server\nmodel: /m.gguf\nport: 8080\nprice: {input: 0, output: 0.02}\n"),
        ])
        #expect(d.filter { $0.severity == .error }.isEmpty, "\(d)")
        let burst = p["coding-burst"]
        #expect(burst?.price == Price(input: Money(nanodollars: 3_000_000_000), cachedInput: Money(nanodollars: 300_000_000),
                                      output: Money(nanodollars: 15_000_000_000)))
        #expect(burst?.budget == BudgetLimit(day: Money(nanodollars: 5_000_000_000), month: Money(nanodollars: 50_000_000_000)))
        #expect(p["review-cheap"]?.price == burst?.price)
        #expect(p["review-cheap"]?.budget == BudgetLimit(day: Money(nanodollars: 1_000_000_000)))
        #expect(p["coding-local"]?.price?.output == Money(nanodollars: 20_000_000))
        #expect(p["coding-local"]?.budget == nil)
    }

    @Test(arguments: [
        ("price: {input: -1, output: 2}", "price.input", 2),
        ("price: {input: 1, output: 2, cahced_input: 1}", "price.cahced_input", 2),
        ("price: {input: 1}", "price.output", 2),
        ("price: {input: 1e3, output: 1}", "price.input", 2),
        ("price: {input: 10001, output: 1}", "price.input", 2),
        ("price: 3", "price", 2),
        ("budget: {day: five}", "budget.day", 2),
        ("budget: {week: 1}", "budget.week", 2),
        ("budget:\n  month: 0.0000000001", "budget.month", 3),
    ])
    func badValuesNameTheirKeyAndLine(_ yaml: String, _ key: String, _ line: Int) {
        let (_, d) = profiles([("cloud", "kind: openai\n\(yaml)\nbase_url: https://example.com/v1\n")])
        let e = d.first { $0.severity == .error }
        #expect(e?.keyPath == key, "\(d)")
        #expect(e?.line == line)
        #expect(e?.column != nil)
        #expect(e?.file == "cloud.yaml")
    }

    @Test func budgetsSection() {
        let reader = YAMLReader(file: "runtime.yaml", environment: [:])
        let s = ConfigLoader.parseRuntime(text: """
        budgets:
          warn_at: 0.75
          total: {day: 10, month: 100}
          sources:
            cron: {day: 1.00}
        """, reader: reader)
        #expect(reader.diagnostics.isEmpty, "\(reader.diagnostics)")
        #expect(s.budgets.warnAtPermille == 750)
        #expect(s.budgets.total?.month == Money(nanodollars: 100_000_000_000))
        #expect(s.budgets.sources["cron"]?.day == Money(nanodollars: 1_000_000_000))
        let bad = YAMLReader(file: "runtime.yaml", environment: [:])
        _ = ConfigLoader.parseRuntime(text: "budgets:\n  warn_at: 1.5\n  totl: {day: 1}\n", reader: bad)
        let found = bad.diagnostics.sorted { ($0.line ?? 0) < ($1.line ?? 0) }
        #expect(found.map(\.keyPath) == ["budgets.warn_at", "budgets.totl"])
        #expect(found.map(\.line) == [2, 3])
    }
}
