import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HermesTestSupport
import Testing

/// `speculative:` end to end: the real daemon starts the real llama-server b11434 with the section's
/// flags, the server drafts, and its own counters reach the front's `/metrics`, `status` and the page.
@Suite(.serialized, .realProcesses) struct SpeculativeCLITests {
    @Test func anNgramProfileStartsDraftsAndReportsItsAcceptance() async throws {
        let (demoPort, frontPort) = (TestEnvironment.freePort(), TestEnvironment.freePort())
        let root = try TestEnvironment.configRoot(
            profiles: [
                "demo": try TestEnvironment.demoProfile(port: demoPort, context: 4096, extra: "speculative:\n  type: ngram-mod\n"),
            ],
            runtime: "front:\n  listen: 127.0.0.1:\(frontPort)\n  default: demo\n")
        let cli = try CLIRunner(configRoot: root)
        defer { _ = try? cli.runBlocking(["daemon", "stop"]) }
        let started = try await cli.run(["start", "demo"])
        #expect(started.status == 0, "\(started.output)")
        let front = "http://127.0.0.1:\(frontPort)"
        let file = (0..<30).map { "    total_\($0) = compute(\($0), scale=2, label='item \($0)')" }.joined(separator: "\n")
        let prompt = "Repeat this code exactly, line by line:\n\n" + file
        let body = try JSONSerialization.data(withJSONObject: [
            "messages": [["role": "user", "content": prompt]], "max_tokens": 128, "temperature": 0,
        ])
        let answer = await HTTPExchange.send("POST", front + "/v1/chat/completions", body: String(decoding: body, as: UTF8.self))
        #expect(answer.status == 200, "\(answer.body.prefix(2000))")
        let text = await HTTPExchange.send("GET", front + "/metrics").body
        func sample(_ name: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(name + "{profile=\"demo\"}") }
                .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
        }
        let drafted = try #require(sample("hermes_server_draft_tokens_total"), "\(text.prefix(4000))")
        #expect(drafted > 0, "the server drafted with --spec-type ngram-mod")
        let acceptance = try #require(sample("hermes_server_draft_acceptance"))
        #expect(acceptance > 0 && acceptance <= 1)
        #expect(sample("hermes_server_draft_accepted_total") != nil)

        // `status` and the page show it too, from the same counters.
        let status = try await cli.run(["status", "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.output)")
        let server = (json["servers"] as? [[String: Any]])?.first { $0["profile"] as? String == "demo" }
        let shown = try #require(server?["draft_acceptance"] as? Double, "\(status.stdout)")
        #expect(shown > 0 && shown <= 1)
        let table = try await cli.run(["status"])
        #expect(table.stdout.contains("demo: speculative decoding,") && table.stdout.contains("of drafted tokens accepted"), "\(table.output)")
        let page = await HTTPExchange.send("GET", front + "/ui/state.json").body
        #expect(page.contains("drafts accepted"))
    }
}
