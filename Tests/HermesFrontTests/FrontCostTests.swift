import AsyncHTTPClient
import Foundation
import HermesCore
import HermesFront
import HermesTestSupport
import NIOCore
import Testing

/// Tokens, cost, the ledger and budgets against the real llama-servers: "local" and a priced "cloud"
/// (`kind: openai` in front of the second server, speaking all three APIs).
@Suite(.serialized, .realProcesses) struct FrontCostTests {
    static let price = Price(input: Money(dollars: "3.00")!, cachedInput: Money(dollars: "0.30")!, output: Money(dollars: "15.00")!)

    static func cloud(_ name: String, _ server: LlamaServerProcess, fallback: [String]? = nil, budget: BudgetLimit? = nil) -> Profile {
        var p = FrontFixture.remote(name, baseURL: server.baseURL + "/v1", model: "gemma-cloud", fallback: fallback, keyEnv: "CLOUD_KEY")
        if case .openai(var s) = p.kind {
            s.apis = [.chat, .responses, .messages]
            p.kind = .openai(s)
        }
        p.price = price
        p.budget = budget
        return p
    }

    static func config(local: LlamaServerProcess, cloud server: LlamaServerProcess, budgets: BudgetSettings = BudgetSettings(),
                       cloudBudget: BudgetLimit? = nil) throws -> HermesConfig
    {
        var c = try FrontFixture.config([
            FrontFixture.local("demo-local", burst: "demo-cloud"),
            cloud("demo-cloud", server, fallback: ["demo-cloud2"], budget: cloudBudget),
            cloud("demo-cloud2", server, budget: cloudBudget),
        ], default: "demo-local", aliases: ["local": "demo-local", "cloud": "demo-cloud"])
        c.runtime.budgets = budgets
        return c
    }

    /// `input=12, output=4` -> ["input": 12, "output": 4].
    static func tokens(_ header: String?) -> [String: Int] {
        var out: [String: Int] = [:]
        for part in (header ?? "").split(separator: ",") {
            let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=")
            if kv.count == 2, let v = Int(kv[1]) { out[String(kv[0])] = v }
        }
        return out
    }

    @Test func tokensAndCostFromEachAPIStreamedAndNot() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        let config = try Self.config(local: local, cloud: cloud)
        try await withFront(config, runtime: runtime, options: LiveFixture.options) { f in
            let bodies: [(String, String)] = [
                ("/v1/chat/completions", #"{"model":"cloud","messages":[{"role":"user","content":"Say hi."}],"max_tokens":6,"temperature":0}"#),
                ("/v1/completions", #"{"model":"cloud","prompt":"Once upon a time","max_tokens":6}"#),
                ("/v1/responses", #"{"model":"cloud","input":"Say hi.","max_output_tokens":6}"#),
                ("/v1/messages", #"{"model":"cloud","max_tokens":6,"messages":[{"role":"user","content":"Say hi."}]}"#),
            ]
            var expectedCost = Money.zero
            for (path, body) in bodies {
                // Not streamed: the receipt has the tokens and the cost.
                let a = try await send(f.base + path, json: body)
                #expect(a.status == 200, "\(path): \(a.body)")
                #expect(a.header("X-Hermes-Route") == "demo-cloud")
                let t = Self.tokens(a.header("X-Hermes-Tokens"))
                let input = try #require(t["input"], "\(path): \(a.header("X-Hermes-Tokens") ?? "no receipt")")
                let output = try #require(t["output"])
                #expect(input > 0 && output > 0 && output <= 6)
                let cost = Self.price.cost(AnswerUsage(input: input, output: output, cached: t["cached"]))!
                #expect(a.header("X-Hermes-Cost") == cost.dollarsText)
                let e = try await f.event(id: a.requestID)
                let et = e["tokens"] as? [String: Any]
                #expect(et?["input"] as? Int == input && et?["output"] as? Int == output)
                #expect(e["cost_nusd"] as? Int == Int(cost.nanodollars))
                expectedCost = expectedCost + cost
                // Streamed: the same numbers reach the event and the ledger, not the headers.
                let streamed = body.replacingOccurrences(of: #""model":"cloud","#, with: #""model":"cloud","stream":true,"#)
                let s = try await send(f.base + path, json: streamed)
                #expect(s.status == 200)
                #expect(s.header("X-Hermes-Tokens") == nil)
                let se = try await f.event(id: s.requestID)
                let st = try #require(se["tokens"] as? [String: Any], "\(path) streamed: \(se)")
                let sIn = try #require(st["input"] as? Int), sOut = try #require(st["output"] as? Int)
                #expect(sIn == input, "\(path): the same prompt counts the same")
                #expect(sOut > 0)
                let sCost = Self.price.cost(AnswerUsage(input: sIn, output: sOut, cached: st["cached"] as? Int))!
                #expect(se["cost_nusd"] as? Int == Int(sCost.nanodollars))
                expectedCost = expectedCost + sCost
            }
            let today = f.front.spendTotals?.day(RoutingFront.today())
            #expect(today?.total.answers == 8)
            #expect(today?.byProfile["demo-cloud"]?.cost == expectedCost)
        }
    }

    @Test func streamThatDidNotAskForUsageGetsNoUsageChunk() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        try await withFront(try Self.config(local: local, cloud: cloud), runtime: runtime, options: LiveFixture.options) { f in
            for model in ["local", "cloud"] {
                let plain = try await send(f.base + "/v1/chat/completions", json: chatBody("Count to five.", maxTokens: 8, stream: true, model: model))
                #expect(plain.status == 200)
                #expect(plain.body.hasSuffix("data: [DONE]\n\n"))
                #expect(!plain.body.contains("\"usage\""), "\(model): \(plain.body)")
                #expect(!plain.body.contains(#""choices":[]"#))
                let e = try await f.event(id: plain.requestID)
                let t = try #require(e["tokens"] as? [String: Any], "\(model): \(e)")
                #expect((t["input"] as? Int ?? 0) > 0 && (t["output"] as? Int ?? 0) > 0)
                // A client that asked gets its chunk, as before.
                let asked = try await send(f.base + "/v1/chat/completions",
                                           json: chatBody("Count to five.", maxTokens: 8, stream: true, model: model,
                                                          extra: #","stream_options":{"include_usage":true}"#))
                #expect(asked.body.contains("\"usage\""))
            }
            // Local answers cost nothing here (unpriced) and record what the burst profile would have cost.
            let local = f.front.spendTotals?.day(RoutingFront.today()).byProfile["demo-local"]
            #expect(local?.unpriced == 2)
            #expect((local?.saved.nanodollars ?? 0) > 0)
        }
    }

    @Test func budgetReachedMovesOnThen429WithTheResetTime() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        // One answer of a few dozen tokens costs ~0.0001 $: a budget of a millionth of that is spent at once.
        let tiny = BudgetLimit(day: Money(nanodollars: 1000))
        let config = try Self.config(local: local, cloud: cloud, cloudBudget: tiny)
        try await withFront(config, runtime: runtime, options: LiveFixture.options) { f in
            // A stream that starts under budget is never cut, though it ends far past it.
            let first = try await send(f.base + "/v1/chat/completions", json: chatBody("Count to ten.", maxTokens: 24, stream: true, model: "cloud"))
            #expect(first.header("X-Hermes-Route") == "demo-cloud")
            #expect(first.body.hasSuffix("data: [DONE]\n\n"))
            _ = try await f.event(id: first.requestID)
            #expect((f.front.spendTotals?.day(RoutingFront.today()).byProfile["demo-cloud"]?.cost ?? .zero) > Money(nanodollars: 1000))
            // demo-cloud is out of budget: its fallback answers.
            let second = try await send(f.base + "/v1/chat/completions", json: chatBody("Say hi.", maxTokens: 4, model: "cloud"))
            #expect(second.status == 200)
            #expect(second.header("X-Hermes-Route") == "demo-cloud2")
            #expect(second.header("X-Hermes-Attempts") == "demo-cloud:budget,demo-cloud2:200")
            // Both spent, and local cannot be the refuge of an explicit cloud request: 429, OpenAI- and Anthropic-shaped.
            let third = try await send(f.base + "/v1/chat/completions", json: chatBody("Say hi.", maxTokens: 4, model: "cloud"))
            #expect(third.status == 429)
            let err = third.json["error"] as? [String: Any]
            #expect(err?["code"] as? String == "budget_exceeded")
            let message = err?["message"] as? String ?? ""
            #expect(message.contains("daily budget of profile demo-cloud") && message.contains("resets at"), "\(message)")
            #expect(Int(third.header("Retry-After") ?? "") ?? 0 >= 1)
            let anthropic = try await send(f.base + "/v1/messages",
                                           json: #"{"model":"cloud","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(anthropic.status == 429)
            #expect(anthropic.json["type"] as? String == "error")
            #expect(((anthropic.json["error"] as? [String: Any])?["message"] as? String ?? "").contains("out of budget"))
            // The default route still stays local: budgets stop cloud spend only.
            let home = try await send(f.base + "/v1/chat/completions", json: chatBody("Say hi.", maxTokens: 4))
            #expect(home.header("X-Hermes-Route") == "demo-local")
            let events = try f.events().compactMap { $0["event"] as? String }
            #expect(events.contains("budget_reached"))
            // The status page's panel shows the spent budgets and when they reset.
            let ui = try await send(f.base + "/ui/state.json", method: .GET)
            let budgets = (ui.json["spend"] as? [String: Any])?["budgets"] as? [[String: Any]] ?? []
            #expect(budgets.filter { $0["over"] as? Bool == true }.compactMap { $0["budget"] as? String }
                == ["profile demo-cloud", "profile demo-cloud2"])
            #expect(budgets.allSatisfy { ($0["resets"] as? String)?.hasSuffix("Z") == true })
        }
    }

    @Test func spentCloudSendsAnOverflowBackToLocal() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        let config = try Self.config(local: local, cloud: cloud, cloudBudget: BudgetLimit(day: Money(nanodollars: 1000)))
        try await withFront(config, runtime: runtime, options: LiveFixture.options) { f in
            // Spend both cloud budgets.
            for model in ["cloud", "demo-cloud2"] {
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("Say hi.", maxTokens: 4, model: model))
                #expect(a.status == 200)
                _ = try await f.event(id: a.requestID)
            }
            // Two streams hold both local slots; once each has sent its first chunk they are in flight.
            let started = AsyncStream<Void>.makeStream()
            let holders = (0..<2).map { i in
                Task {
                    let r = HTTPClientRequestBuilder.post(f.base + "/v1/chat/completions",
                                                          chatBody("Count from 1 to 60, one number per line. \(i)", maxTokens: 60, stream: true))
                    let resp = try await http.execute(r, timeout: .seconds(Int64(TestEnvironment.hangBound)))
                    var signalled = false
                    for try await _ in resp.body where !signalled {
                        signalled = true
                        started.continuation.yield()
                    }
                    return resp.headers.first(name: "X-Hermes-Route") ?? ""
                }
            }
            var n = 0
            for await _ in started.stream {
                n += 1
                if n == 2 { break }
            }
            // Overflow would burst, but the cloud is spent: the request waits for a local slot instead.
            let a = try await send(f.base + "/v1/chat/completions", json: chatBody("Say hi.", maxTokens: 4), timeout: 120)
            #expect(a.status == 200)
            #expect(a.header("X-Hermes-Route") == "demo-local")
            #expect(a.header("X-Hermes-Reason") == "budget")
            #expect(a.header("X-Hermes-Attempts") == "demo-cloud:budget,demo-cloud2:budget,demo-local:200")
            #expect(try await [holders[0].value, holders[1].value] == ["demo-local", "demo-local"])
        }
    }

    @Test func ledgerIsTheSameAfterTheFrontIsRebuiltAndSkipsACorruptLine() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        let config = try Self.config(local: local, cloud: cloud)
        let before = try await withFront(config, runtime: runtime, options: LiveFixture.options) { f in
            for model in ["cloud", "local", "cloud"] {
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("Say hi.", maxTokens: 4, model: model),
                                       headers: ["X-Hermes-Source": "cron"])
                #expect(a.status == 200)
                _ = try await f.event(id: a.requestID)
            }
            return try #require(f.front.spendTotals)
        }
        #expect(before.day(RoutingFront.today()).bySource["cron"]?.answers == 3)
        // Same state directory, a new front (as after `daemon restart` or kill -9): the same totals.
        let after = try await withFront(config, runtime: runtime, options: LiveFixture.options) { f in try #require(f.front.spendTotals) }
        #expect(after == before)
        // A line cut by a crash, and garbage: skipped with an event, never a crash, nothing else lost.
        let file = config.paths.stateDirectory.appendingPathComponent("spend/\(RoutingFront.today()).jsonl")
        let h = try FileHandle(forWritingTo: file)
        try h.seekToEnd()
        try h.write(contentsOf: Data(#"{"v":1,"id":"cut","day":"2026-"#.utf8) + Data([0x0A, 0xFF, 0x00, 0x0A]))
        try h.close()
        try await withFront(config, runtime: runtime, options: LiveFixture.options) { f in
            #expect(f.front.spendTotals == before)
            let skipped = try f.events().filter { $0["event"] as? String == "ledger_line_skipped" }
            #expect(skipped.count == 2)
        }
    }
}
