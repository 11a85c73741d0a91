import Foundation
import Testing

@testable import HermesCore

/// Tokens come from the upstream's own `usage`, in each API's shape, streamed or not; outside numbers
/// are range-checked; the usage chunk the front asked for never reaches the client.
@Suite struct AnswerUsageTests {
    func read(_ s: String) -> UsageReport? { UsageReport.read(Array(s.utf8)) }

    @Test(arguments: [
        // chat / completions (OpenAI, llama-server), cached input in prompt_tokens_details
        (#"{"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":812,"completion_tokens":64,"total_tokens":876,"prompt_tokens_details":{"cached_tokens":512}}}"#,
         AnswerUsage(input: 812, output: 64, cached: 512)),
        // llama-server: usage plus its local prompt cache
        (#"{"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":5},"timings":{"cache_n":12,"prompt_n":8}}"#,
         AnswerUsage(input: 20, output: 5, localCached: 12)),
        // Responses, whole and as the `response.completed` event
        (#"{"object":"response","usage":{"input_tokens":30,"output_tokens":7,"input_tokens_details":{"cached_tokens":10}}}"#,
         AnswerUsage(input: 30, output: 7, cached: 10)),
        (#"{"type":"response.completed","response":{"id":"r","usage":{"input_tokens":30,"output_tokens":7}}}"#,
         AnswerUsage(input: 30, output: 7)),
        // Anthropic: input_tokens leaves out cache reads and writes; they are added back
        (#"{"type":"message","usage":{"input_tokens":100,"cache_read_input_tokens":900,"cache_creation_input_tokens":50,"output_tokens":20}}"#,
         AnswerUsage(input: 1050, output: 20, cached: 900)),
        (#"{"type":"message_start","message":{"model":"m","usage":{"input_tokens":40,"output_tokens":1}}}"#,
         AnswerUsage(input: 40, output: 1)),
        (#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":33}}"#,
         AnswerUsage(output: 33)),
        // outside numbers: negative, fractional, huge, a string: left out, never trusted
        (#"{"usage":{"prompt_tokens":-1,"completion_tokens":2.5,"total_tokens":1e300,"prompt_tokens_details":{"cached_tokens":"9"}}}"#,
         AnswerUsage()),
        (#"{"usage":{"prompt_tokens":99999999999999999999,"completion_tokens":1099511627777}}"#, AnswerUsage()),
        // cached can never exceed input
        (#"{"usage":{"prompt_tokens":5,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":9}}}"#,
         AnswerUsage(input: 5, output: 1, cached: 5)),
        // a tool argument named usage is not the answer's
        (#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\"usage\":{\"prompt_tokens\":7}}"}}]}}]}"#, AnswerUsage()),
    ])
    func usageOfEachAPI(_ json: String, _ expected: AnswerUsage) {
        #expect(read(json)?.usage == expected)
    }

    @Test func notJSONIsNil() {
        for s in ["", "[DONE]", "{", #"{"usage":{"prompt_tokens":1}"#, #"[{"usage":{}}]"#, #"{"usage":{}} x"#] {
            #expect(read(s) == nil, "\(s)")
        }
    }

    @Test func usageOnlyChunkIsRecognised() {
        #expect(read(#"{"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#)?.isUsageOnlyChunk == true)
        #expect(read(#"{"id":"c","choices":[{"delta":{}}],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#)?.isUsageOnlyChunk == false)
        #expect(read(#"{"id":"c","choices":[]}"#)?.isUsageOnlyChunk == false)
        #expect(read(#"{"type":"message_delta","usage":{"output_tokens":3}}"#)?.isUsageOnlyChunk == false)
    }

    static let chatStream = [
        #"data: {"choices":[{"delta":{"content":"Hel"}}]}"#,
        #"data: {"choices":[{"delta":{"content":"lo"},"finish_reason":"stop"}],"timings":{"cache_n":4}}"#,
        #"data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":2}}"#,
        "data: [DONE]",
    ].map { $0 + "\n\n" }.joined()

    @Test(arguments: [1, 2, 7, 64, 10_000])
    func streamMeteredInAnyChunking(step: Int) {
        let bytes = Array(Self.chatStream.utf8)
        for drop in [false, true] {
            var meter = SSEUsageMeter(dropUsageOnly: drop)
            var out: [UInt8] = []
            var i = 0
            while i < bytes.count {
                out += meter.feed(bytes[i..<min(bytes.count, i + step)])
                i += step
            }
            out += meter.finish()
            #expect(meter.usage == AnswerUsage(input: 11, output: 2, localCached: 4))
            let text = String(decoding: out, as: UTF8.self)
            if drop {
                #expect(!text.contains("usage"))
                #expect(text.contains("[DONE]") && text.contains("lo"))
            } else {
                #expect(out == bytes)
            }
        }
    }

    @Test func anthropicStreamMergesStartAndDelta() {
        let s = [
            #"event: message_start"# + "\n" + #"data: {"type":"message_start","message":{"usage":{"input_tokens":40,"cache_read_input_tokens":8,"output_tokens":1}}}"#,
            #"event: message_delta"# + "\n" + #"data: {"type":"message_delta","usage":{"output_tokens":33}}"#,
        ].map { $0 + "\r\n\r\n" }.joined()
        var meter = SSEUsageMeter(dropUsageOnly: false)
        let out = meter.feed(Array(s.utf8)) + meter.finish()
        #expect(out == Array(s.utf8))
        #expect(meter.usage == AnswerUsage(input: 48, output: 33, cached: 8))
    }

    @Test func usageIsAskedForOnlyWhenTheClientDidNot() throws {
        func decoded(_ body: String, _ endpoint: RoutedEndpoint = .chatCompletions) throws -> DecodedRequest {
            try RequestDecoder.decode(endpoint, body: Array(body.utf8))
        }
        let plain = #"{"messages":[{"role":"user","content":"hi"}],"stream":true}"#
        let edit = try #require(BodySplice.usageEdit(for: try decoded(plain)))
        let spliced = String(decoding: BodySplice.apply([edit], to: Array(plain.utf8)), as: UTF8.self)
        #expect(spliced == #"{"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],"stream":true}"#)
        #expect(try decoded(spliced).includeUsage == true)
        // the client's own choice stands, either way
        #expect(BodySplice.usageEdit(for: try decoded(#"{"messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":false}}"#)) == nil)
        #expect(BodySplice.usageEdit(for: try decoded(#"{"messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{}}"#)) == nil)
        #expect(BodySplice.usageEdit(for: try decoded(#"{"messages":[{"role":"user","content":"x"}]}"#)) == nil)
        #expect(BodySplice.usageEdit(for: try decoded(#"{"input":"x","stream":true}"#, .responses)) == nil)
    }
}
