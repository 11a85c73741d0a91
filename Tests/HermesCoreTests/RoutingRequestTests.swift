import Foundation
import Testing

@testable import HermesCore

@Suite struct RoutingRequestContextTests {
    func parse(_ json: String, endpoint: RoutedEndpoint = .chatCompletions, headers: [String: String] = [:]) throws -> RouteContext {
        try RouteContext(endpoint: endpoint, headers: headers, body: Array(json.utf8))
    }

    @Test func headersBeatMetadata() throws {
        let ctx = try parse(
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"metadata":{"platform":"discord","source_kind":"owner","toolsets":["web"],"goal":"lint"}}"#,
            headers: ["x-hermes-platform": "telegram", "x-hermes-toolsets": "terminal, browser ,", "x-hermes-profile": "local"])
        #expect(ctx.platform == "telegram")
        #expect(ctx.sourceKind == "owner")
        #expect(ctx.toolsets == ["terminal", "browser"])
        #expect(ctx.goal == "lint")
        #expect(ctx.explicitProfile == "local")
        #expect(ctx.model == "m")
    }

    @Test func metadataToolsetsAsCommaString() throws {
        let ctx = try parse(#"{"messages":[{"role":"user","content":"x"}],"metadata":{"toolsets":"a,b"}}"#)
        #expect(ctx.toolsets == ["a", "b"])
    }

    @Test func promptTextJoinsStringsAndTextParts() throws {
        let ctx = try parse(#"""
            {"messages":[{"role":"system","content":"be brief"},
              {"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:x"}},{"type":"text","text":"here"}]},
              {"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"1","content":"result"}],
             "tools":[{"type":"function","function":{"name":"f","parameters":{}}}],
             "max_tokens":65536,"stream":true}
            """#)
        #expect(ctx.promptText == "be brief\nlook\nhere\n\nresult")
        #expect(ctx.hasTools)
        #expect(ctx.maxTokens == 65536)
        #expect(ctx.stream)
    }

    @Test func estimateCountsTheWholeBodySoToolsCount() throws {
        let small = try parse(#"{"messages":[{"role":"user","content":"hi"}]}"#)
        let tool = String(repeating: "x", count: 4000)
        let withTools = try parse(#"{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","description":"\#(tool)"}}]}"#)
        #expect(small.estimatedPromptTokens < 20)
        #expect(withTools.estimatedPromptTokens > 1000)
        #expect(TokenEstimate.tokens(forBytes: 0) == 0)
        #expect(TokenEstimate.tokens(forBytes: 1) == 1)
        #expect(TokenEstimate.tokens(forBytes: 8) == 2)
    }

    @Test func maxCompletionTokensCountsAndTheLargestLimitWins() throws {
        #expect(try parse(#"{"messages":[{"role":"user","content":"x"}],"max_completion_tokens":12}"#).maxTokens == 12)
        #expect(try parse(#"{"messages":[{"role":"user","content":"x"}],"max_tokens":12,"n_predict":300}"#).maxTokens == 300)
        #expect(try parse(#"{"messages":[{"role":"user","content":"x"}],"max_tokens":null}"#).maxTokens == nil)
        #expect(try parse(#"{"messages":[{"role":"user","content":"x"}],"max_tokens":1e3}"#).maxTokens == 1000)
    }

    @Test func completionsAndEmbeddingsReadTheirInput() throws {
        let c = try parse(#"{"prompt":["a","b"]}"#, endpoint: .completions)
        #expect(c.promptText == "a\nb")
        let e = try parse(#"{"input":"vector me"}"#, endpoint: .embeddings)
        #expect(e.promptText == "vector me")
    }

    @Test(arguments: [
        (#"[1,2]"#, RoutedEndpoint.chatCompletions, "invalid_body"),
        (#"{"model":"x"}"#, .chatCompletions, "missing_messages"),
        (#"{"messages":[]}"#, .chatCompletions, "missing_messages"),
        (#"{"messages":"hi"}"#, .chatCompletions, "missing_messages"),
        (#"{"messages":[3]}"#, .chatCompletions, "invalid_messages"),
        (#"{"messages":[{"content":"no role"}]}"#, .chatCompletions, "invalid_messages"),
        (#"{"messages":[{"role":"user","content":"x"}],"max_tokens":true}"#, .chatCompletions, "invalid_type"),
        (#"{"messages":[{"role":"user","content":"x"}],"max_tokens":1e30}"#, .chatCompletions, "invalid_value"),
        (#"{"messages":[{"role":"user","content":"x"}],"max_tokens":-2}"#, .chatCompletions, "invalid_value"),
        (#"{"messages":[{"role":"user","content":"x"}],"max_tokens":2.5}"#, .chatCompletions, "invalid_value"),
        (#"{"messages":[{"role":"user","content":"x"}],"max_tokens":99999999999999999999999}"#, .chatCompletions, "invalid_value"),
        (#"{"messages":[{"role":"user","content":"x"}],"model":7}"#, .chatCompletions, "invalid_type"),
        (#"{"messages":[{"role":"user","content":"x"}],"stream":"yes"}"#, .chatCompletions, "invalid_type"),
        (#"{"messages":[{"role":"user","content":5}]}"#, .chatCompletions, "invalid_type"),
        (#"{"messages":[{"role":"user","content":"x"}],"max_tokens":5,"max_tokens":9}"#, .chatCompletions, "duplicate_key"),
        (#"{"messages":[{"role":"user","content":"x"}],"max\u005ftokens":5,"max_tokens":9}"#, .chatCompletions, "duplicate_key"),
        (#"{"messages":[{"role":"user","content":"x"}]} x"#, .chatCompletions, "invalid_json"),
        (#"{"messages":[{"role":"user","content":"\ud800"}]}"#, .chatCompletions, "invalid_json"),
        ("", .chatCompletions, "invalid_json"),
        (#"{"model":"x"}"#, .completions, "missing_prompt"),
        (#"{"model":"x"}"#, .embeddings, "missing_input"),
    ])
    func badBodies(json: String, endpoint: RoutedEndpoint, code: String) throws {
        do {
            _ = try parse(json, endpoint: endpoint)
            Issue.record("expected \(code)")
        } catch let e as RequestError {
            #expect(e.code == code)
            #expect(e.status == 400)
        }
    }
}

@Suite struct RoutingBurstCheckTests {
    let settings: LlamaServerSettings = {
        var s = LlamaServerSettings()
        s.context = 8192
        s.slots = 4
        s.outputReserve = 512
        return s
    }()
    let ready = LocalRuntimeStatus(phase: .ready, baseURL: "http://h", slotsTotal: 4, contextPerSlot: 2048)

    @Test func reserveIsMaxTokensCappedByTheProfile() {
        #expect(BurstCheck.outputReserve(maxTokens: nil, settings: settings) == 512)
        #expect(BurstCheck.outputReserve(maxTokens: 65536, settings: settings) == 512)
        #expect(BurstCheck.outputReserve(maxTokens: 32, settings: settings) == 32)
        #expect(BurstCheck.outputReserve(maxTokens: nil, settings: LlamaServerSettings()) == 1024)
    }

    @Test func limitUsesLiveSlotContextThenConfigThenContextOver() {
        #expect(BurstCheck.contextLimit(settings: settings, status: ready) == 2048)
        #expect(BurstCheck.contextLimit(settings: settings, status: LocalRuntimeStatus(phase: .ready)) == 2048)
        var over = settings
        over.contextOver = 1000
        #expect(BurstCheck.contextLimit(settings: over, status: ready) == 1000)
        #expect(BurstCheck.contextLimit(settings: LlamaServerSettings(), status: nil) == nil)
    }

    @Test func downWhenNotReadyOrNoAddress() {
        #expect(BurstCheck.checkLocal(settings: settings, status: nil, promptTokens: 1, exact: false, maxTokens: nil, inFlight: 0) == .down(nil))
        #expect(BurstCheck.checkLocal(settings: settings, status: LocalRuntimeStatus(phase: .ready), promptTokens: 1, exact: false,
                                      maxTokens: nil, inFlight: 0) == .down(.ready))
        #expect(BurstCheck.checkLocal(settings: settings, status: LocalRuntimeStatus(phase: .starting, baseURL: "http://h"),
                                      promptTokens: 1, exact: false, maxTokens: nil, inFlight: 0) == .down(.starting))
    }

    @Test func contextBands() {
        func v(_ tokens: Int, exact: Bool = false) -> LocalVerdict {
            BurstCheck.checkLocal(settings: settings, status: ready, promptTokens: tokens, exact: exact, maxTokens: 48, inFlight: 0)
        }
        #expect(v(1000) == .fits(maxTokens: nil))           // 1048 <= 0.7 x 2048
        #expect(v(1500) == .nearLimit(need: 1548, limit: 2048))
        #expect(v(2900) == .tooLong(need: 2948, limit: 2048))
        #expect(v(2000, exact: true) == .tooLong(need: 2048 + 0, limit: 2048) || v(2000, exact: true) == .fits(maxTokens: nil))
        #expect(v(2000, exact: true) == .fits(maxTokens: nil))   // 2048 is not above 2048
        #expect(v(2001, exact: true) == .tooLong(need: 2049, limit: 2048))
    }

    @Test func busyCountsOwnInFlightAgainstLiveSlots() {
        #expect(BurstCheck.checkLocal(settings: settings, status: ready, promptTokens: 1, exact: false, maxTokens: nil, inFlight: 4)
            == .busy(inFlight: 4, slots: 4))
        var two = ready
        two.slotsTotal = 2
        #expect(BurstCheck.checkLocal(settings: settings, status: two, promptTokens: 1, exact: false, maxTokens: nil, inFlight: 2)
            == .busy(inFlight: 2, slots: 2))
    }

    @Test func clamp() {
        #expect(BurstCheck.clampedMaxTokens(65536, promptTokens: 100, slotContext: 2048) == 1948)
        #expect(BurstCheck.clampedMaxTokens(64, promptTokens: 100, slotContext: 2048) == nil)
        #expect(BurstCheck.clampedMaxTokens(nil, promptTokens: 100, slotContext: 2048) == nil)
        #expect(BurstCheck.clampedMaxTokens(10, promptTokens: 5000, slotContext: 2048) == 1)
        #expect(BurstCheck.clampedMaxTokens(10, promptTokens: 5, slotContext: nil) == nil)
    }

    @Test func upstreamVerdicts() {
        #expect(UpstreamPolicy.verdict(status: 503, isLocal: true) == .tryNext)
        #expect(UpstreamPolicy.verdict(status: 502, isLocal: true) == .tryNext)
        #expect(UpstreamPolicy.verdict(status: 500, isLocal: true) == .deliver)
        #expect(UpstreamPolicy.verdict(status: 429, isLocal: true) == .deliver)
        #expect(UpstreamPolicy.verdict(status: 429, isLocal: false) == .tryNext)
        #expect(UpstreamPolicy.verdict(status: 500, isLocal: false) == .tryNext)
        #expect(UpstreamPolicy.verdict(status: 400, isLocal: false) == .deliver)
        #expect(UpstreamPolicy.verdict(status: 200, isLocal: false) == .deliver)
    }

    @Test func retryAfterSecondsAndDates() {
        #expect(UpstreamPolicy.retryAfter("7") == 7)
        #expect(UpstreamPolicy.retryAfter(nil) == nil)
        #expect(UpstreamPolicy.retryAfter("soon") == nil)
        let now = Date(timeIntervalSince1970: 1_700_000_000)   // Tue, 14 Nov 2023 22:13:20 GMT
        #expect(UpstreamPolicy.retryAfter("Tue, 14 Nov 2023 22:13:50 GMT", now: now) == 30)
        var s = OpenAISettings()
        s.cooldown = 5
        #expect(UpstreamPolicy.cooldown(retryAfter: nil, settings: s) == 5)
        #expect(UpstreamPolicy.cooldown(retryAfter: 2, settings: s) == 2)
        #expect(UpstreamPolicy.cooldown(retryAfter: 1e9, settings: s) == 3600)
    }
}
