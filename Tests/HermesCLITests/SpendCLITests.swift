import Foundation
import HermesCore
import HermesTestSupport
import Testing

/// `spend` and `status` read the ledger as a user runs them: the built binary, a config root of the
/// test's own, no daemon.
@Suite(.realProcesses) struct SpendCLITests {
    @Test func spendAndStatusReadTheLedger() async throws {
        let root = try TestEnvironment.configRoot(profiles: [
            "cloud": "kind: openai\nbase_url: http://127.0.0.1:9/v1\nprice: {input: 3.00, output: 15.00}\nbudget: {day: 0.000004}\n",
        ], runtime: "front:\n  listen: 127.0.0.1:\(TestEnvironment.freePort())\nbudgets:\n  sources:\n    cron: {day: 1.00}\n")
        let cli = try CLIRunner(configRoot: root)
        let dir = cli.stateDirectory.appendingPathComponent("spend")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let today = LocalCalendar.day(of: Date())
        var a = LedgerEntry(id: "a", day: today, profile: "cloud", source: "cron")
        a.input = 1000
        a.output = 100
        a.cost = Money(nanodollars: 4_500_000)
        var b = LedgerEntry(id: "b", day: today, profile: "local")
        b.input = 50
        b.output = 5
        b.saved = Money(nanodollars: 225_000)
        let text = [a, b].map { String(decoding: $0.line(), as: UTF8.self) }.joined(separator: "\n") + "\n{not a line\n"
        try text.write(to: dir.appendingPathComponent("\(today).jsonl"), atomically: true, encoding: .utf8)

        let json = try await cli.run(["spend", "--json"])
        #expect(json.status == 0, "\(json.output)")
        let o = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(o?["today_usd"] as? String == "0.004500")
        #expect(o?["saved_month_usd"] as? String == "0.000225")
        #expect(o?["skipped_lines"] as? Int == 1)
        let rows = o?["rows"] as? [[String: Any]] ?? []
        #expect(rows.map { $0["key"] as? String } == ["cloud", "local"])
        #expect(rows.last?["cost_usd"] as? String == "unpriced")

        let bySource = try await cli.run(["spend", "--by", "source", "--since", "7d"])
        #expect(bySource.stdout.contains("cron") && bySource.stdout.contains("$0.004500"), "\(bySource.output)")
        let bad = try await cli.run(["spend", "--since", "forever"])
        #expect(bad.status != 0 && bad.output.contains("--since"))

        let status = try await cli.run(["status"])
        #expect(status.stdout.contains("OUT OF BUDGET: the daily budget of profile cloud"), "\(status.output)")
    }
}
