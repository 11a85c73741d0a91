import Foundation
import HermesCore
import HermesTestSupport
import Testing

/// The spend ledger outlives the daemon: after `daemon restart` and after `kill -9` of the daemon it
/// holds every answer that got a 200, once, and a budget reached before still holds. Through the built
/// binary, the real llama-server as "local" and as two priced "clouds" (`kind: openai` in front of it).
@Suite(.serialized, .realProcesses) struct SpendSurvivalCLITests {
    let web = DaemonWiringCLITests()
    static let chat = #"{"messages":[{"role":"user","content":"Say hi"}],"max_tokens":4}"#

    /// What the receipts of the answers that got a 200 add up to.
    struct Sum: Equatable, CustomStringConvertible {
        var answers = 0
        var input = 0
        var output = 0
        var cost = Money.zero
        var byProfile: [String: Int] = [:]
        var description: String { "\(answers) answers, \(input) in, \(output) out, \(cost.dollarsText) USD, \(byProfile)" }
    }

    /// One answer through the front, asked of `profile`; a 200's receipt is added to `sum`. On a loaded
    /// 2-core box a CPU server can miss the front's first-byte deadline (`:timeout`): that is load, so
    /// such a request is tried again (it was not answered, so it is not counted).
    func answer(_ front: Int, _ profile: String, _ sum: inout Sum) async throws -> DaemonWiringCLITests.Reply {
        var r = await web.http("POST", "http://127.0.0.1:\(front)/v1/chat/completions", body: Self.chat, headers: ["X-Hermes-Profile": profile])
        for _ in 0..<2 where r.status != 200 && (r.headers["x-hermes-attempts"] ?? r.body).contains(":timeout") {
            r = await web.http("POST", "http://127.0.0.1:\(front)/v1/chat/completions", body: Self.chat, headers: ["X-Hermes-Profile": profile])
        }
        try #require(r.status == 200, "\(r.status) \(r.headers) \(r.body)")
        let tokens = Dictionary(uniqueKeysWithValues: (r.headers["x-hermes-tokens"] ?? "").split(separator: ",").compactMap { part -> (String, Int)? in
            let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=")
            return kv.count == 2 ? (String(kv[0]), Int(kv[1]) ?? -1) : nil
        })
        let route = try #require(r.headers["x-hermes-route"])
        let cost = try #require(r.headers["x-hermes-cost"], "\(r.headers)")
        sum.answers += 1
        sum.input += tokens["input"] ?? 0
        sum.output += tokens["output"] ?? 0
        #expect((tokens["input"] ?? 0) > 0 && (tokens["output"] ?? 0) > 0, "\(r.headers)")
        if cost != "unpriced" { sum.cost = sum.cost + (try #require(Money(dollars: cost), "\(cost)")) }
        sum.byProfile[route, default: 0] += 1
        return r
    }

    /// What `hermes-runtime spend --json` reads from the ledger on disk.
    func spend(_ cli: CLIRunner) async throws -> Sum {
        let r = try await cli.run(["spend", "--json"])
        try #require(r.status == 0, "\(r.output)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(o["skipped_lines"] as? Int == 0)
        let total = try #require(o["total"] as? [String: Any])
        var s = Sum()
        s.answers = total["answers"] as? Int ?? -1
        s.input = total["input"] as? Int ?? -1
        s.output = total["output"] as? Int ?? -1
        s.cost = try #require(Money(dollars: total["cost_usd"] as? String ?? ""), "\(total)")
        for row in o["rows"] as? [[String: Any]] ?? [] {
            if let k = row["key"] as? String, let n = row["answers"] as? Int { s.byProfile[k] = n }
        }
        return s
    }

    /// The running daemon's own totals (its status page): what budgets are checked against.
    func panel(_ front: Int) async throws -> [String: Any] {
        let r = await web.http("GET", "http://127.0.0.1:\(front)/ui/state.json")
        try #require(r.status == 200, "\(r.body)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])
        return try #require(o["spend"] as? [String: Any], "\(o.keys)")
    }

    func cloudIsOverBudget(_ panel: [String: Any]) -> Bool {
        (panel["budgets"] as? [[String: Any]] ?? []).contains { $0["budget"] as? String == "profile cloud" && $0["over"] as? Bool == true }
    }

    @Test func theLedgerIsTheSameAfterDaemonRestartAndAfterKillDashNine() async throws {
        let port = TestEnvironment.freePort(), front = TestEnvironment.freePort()
        let cloud = "kind: openai\nbase_url: http://127.0.0.1:\(port)/v1\nmodel: gemma-cloud\n"
        let root = try TestEnvironment.configRoot(
            profiles: [
                "local": try TestEnvironment.demoProfile(port: port, context: 2048, slots: 2),
                // Out of budget after its first answer; then its fallback answers.
                "cloud": cloud + "price: {input: 3.00, output: 15.00}\nbudget: {day: 0.000001}\nfallback: [cloud2]\n",
                "cloud2": cloud + "price: {input: 1.00, output: 2.00}\n",
            ],
            runtime: "front:\n  listen: 127.0.0.1:\(front)\n  default: local\n")
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }
        let started = try await cli.run(["start", "local"])
        try #require(started.status == 0, "\(started.output)")

        // Before: one answer spends cloud's budget, the next goes to its fallback, one is local.
        var sum = Sum()
        let first = try await answer(front, "cloud", &sum)
        #expect(first.headers["x-hermes-route"] == "cloud")
        let second = try await answer(front, "cloud", &sum)
        #expect(second.headers["x-hermes-route"] == "cloud2", "\(second.headers)")
        #expect(second.headers["x-hermes-attempts"]?.hasPrefix("cloud:budget,") == true, "\(second.headers)")
        _ = try await answer(front, "local", &sum)
        #expect(sum.cost > .zero)
        #expect(try await spend(cli) == sum)
        let before = try await panel(front)
        #expect(before["answers_today"] as? Int == sum.answers)
        #expect(cloudIsOverBudget(before), "\(before)")

        // `daemon restart`: the new daemon reads the same ledger, and cloud is still out of budget.
        let daemonPid = try #require(try await CLIStatus.read(cli).daemon?.pid)
        let restart = try await cli.run(["daemon", "restart"])
        try #require(restart.status == 0, "\(restart.output)")
        let restarted = try #require(try await CLIStatus.read(cli).daemon?.pid)
        #expect(restarted != daemonPid)
        #expect(try await spend(cli) == sum, "after daemon restart")
        let afterRestart = try await panel(front)
        #expect(afterRestart["answers_today"] as? Int == sum.answers)
        #expect(cloudIsOverBudget(afterRestart), "\(afterRestart)")
        let third = try await answer(front, "cloud", &sum)
        #expect(third.headers["x-hermes-route"] == "cloud2", "the budget reached before the restart was forgotten: \(third.headers)")

        // More answers, then kill -9 of the daemon the moment the last 200 is in: every answer that got
        // a 200 is in the ledger, none twice, and the new daemon still holds cloud's budget as spent.
        _ = try await answer(front, "local", &sum)
        _ = try await answer(front, "cloud2", &sum)
        kill(restarted, SIGKILL)
        let web = self.web
        let cliRef = cli
        // The guard starts a new daemon; the wait only bounds a hang.
        let back = await TestEnvironment.firstTime {
            guard let s = try? cliRef.runBlocking(["status", "--json"]), s.status == 0,
                let o = try? JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as? [String: Any],
                let d = o["daemon"] as? [String: Any], let pid = d["pid"] as? Int, pid != Int(restarted)
            else { return false }
            return web.httpBlocking("GET", "http://127.0.0.1:\(front)/ui/state.json").status == 200
        }
        try #require(back != nil, "no daemon answered within \(TestEnvironment.hangBound) s of kill -9 of the daemon")
        #expect(try await spend(cli) == sum, "after kill -9")
        let afterKill = try await panel(front)
        #expect(afterKill["answers_today"] as? Int == sum.answers)
        #expect(cloudIsOverBudget(afterKill), "\(afterKill)")
        let last = try await answer(front, "cloud", &sum)
        #expect(last.headers["x-hermes-route"] == "cloud2", "the budget reached before kill -9 was forgotten: \(last.headers)")
        #expect(try await spend(cli) == sum)
        #expect(sum.byProfile == ["cloud": 1, "cloud2": 4, "local": 2], "\(sum)")
    }
}
