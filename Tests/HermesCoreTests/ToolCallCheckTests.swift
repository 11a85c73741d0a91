import Foundation
import Testing

@testable import HermesCore

/// Tool calls judged against the request's tools, in all three answer shapes and in a chat stream.
@Suite struct ToolCallCheckTests {
    let tools: Set<String> = ["get_weather", "search"]

    static func chat(name: String, arguments: String) -> Data {
        let args = String(data: try! JSONSerialization.data(withJSONObject: [arguments]), encoding: .utf8)!.dropFirst().dropLast()
        return Data(#"{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"\#(name)","arguments":\#(args)}}]},"finish_reason":"tool_calls"}]}"#.utf8)
    }

    /// The offered names, read from the tools' spans the decoder noted (the body is decoded once).
    static let offered: [(RoutedEndpoint, String, Set<String>)] = [
        (.chatCompletions, #"{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{}}}]}"#,
         ["get_weather"]),
        (.responses, #"{"input":"hi","tools":[{"type":"function","name":"search","parameters":{}}]}"#, ["search"]),
        (.messages, #"{"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"a","input_schema":{}},{"name":"b"}]}"#, ["a", "b"]),
        (.chatCompletions, #"{"messages":[{"role":"user","content":"hi"}],"functions":[{"name":"f"}]}"#, ["f"]),
        (.chatCompletions, #"{"messages":[{"role":"user","content":"hi"}]}"#, []),
        (.chatCompletions, #"{"messages":[{"role":"user","content":"hi"}],"tools":[7,{"name":3},{"function":{"name":null}},{"function":"x","name":"n"}]}"#, ["n"]),
        (.chatCompletions, #"{"messages":[{"role":"user","content":"hi"}],"tools":[{"function":{"name":"inner"},"name":"outer"}]}"#, ["inner"]),
    ]
    @Test(arguments: offered)
    func requestToolNamesInEveryShape(endpoint: RoutedEndpoint, body: String, names: Set<String>) throws {
        let r = try RequestDecoder.decode(endpoint, body: Array(body.utf8))
        #expect(RequestDecoder.toolNames(in: Array(body.utf8), spans: r.toolSpans) == names)
        #expect(r.hasTools == body.contains(#""tools":["#) || body.contains(#""functions":["#))
    }

    @Test func chatAnswers() {
        #expect(ToolCallCheck.check(answer: Self.chat(name: "get_weather", arguments: #"{"city":"Paris"}"#), api: .chat, tools: tools) == nil)
        #expect(ToolCallCheck.check(answer: Self.chat(name: "get_weather", arguments: ""), api: .chat, tools: tools) == nil)
        #expect(ToolCallCheck.check(answer: Self.chat(name: "rm_rf", arguments: "{}"), api: .chat, tools: tools)
            == BadToolCall(tool: "rm_rf", problem: .unknownTool))
        #expect(ToolCallCheck.check(answer: Self.chat(name: "search", arguments: #"{"q": "x""#), api: .chat, tools: tools)
            == BadToolCall(tool: "search", problem: .invalidArguments))
        #expect(ToolCallCheck.check(answer: Self.chat(name: "search", arguments: #"["x"]"#), api: .chat, tools: tools)
            == BadToolCall(tool: "search", problem: .invalidArguments))
        // Text answers, odd answers and broken answers have nothing to judge.
        let text = Data(#"{"choices":[{"message":{"role":"assistant","content":"hi"}}]}"#.utf8)
        #expect(ToolCallCheck.check(answer: text, api: .chat, tools: tools) == nil)
        #expect(ToolCallCheck.check(answer: Data(#"{"choices":"no"}"#.utf8), api: .chat, tools: tools) == nil)
        #expect(ToolCallCheck.check(answer: Data([0xFF, 0x00]), api: .chat, tools: tools) == nil)
    }

    @Test func responsesAnswers() {
        func answer(_ name: String, _ args: String) -> Data {
            Data(#"{"object":"response","output":[{"type":"message","content":[]},{"type":"function_call","call_id":"c","name":"\#(name)","arguments":"\#(args)"}]}"#.utf8)
        }
        #expect(ToolCallCheck.check(answer: answer("search", #"{\"q\":1}"#), api: .responses, tools: tools) == nil)
        #expect(ToolCallCheck.check(answer: answer("nope", "{}"), api: .responses, tools: tools)?.problem == .unknownTool)
        #expect(ToolCallCheck.check(answer: answer("search", "{oops"), api: .responses, tools: tools)?.problem == .invalidArguments)
    }

    @Test func anthropicAnswers() {
        func answer(_ name: String, _ input: String) -> Data {
            Data(#"{"type":"message","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"t","name":"\#(name)","input":\#(input)}]}"#.utf8)
        }
        #expect(ToolCallCheck.check(answer: answer("search", #"{"q":"x"}"#), api: .messages, tools: tools) == nil)
        #expect(ToolCallCheck.check(answer: answer("nope", "{}"), api: .messages, tools: tools)?.problem == .unknownTool)
        #expect(ToolCallCheck.check(answer: answer("search", #""a string""#), api: .messages, tools: tools)?.problem == .invalidArguments)
    }

    static func event(_ delta: String, finish: String? = nil) -> Data {
        Data(#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish.map { "\"\($0)\"" } ?? "null")}]}"#.utf8)
    }

    @Test func streamHoldsToolCallDeltasThenJudges() {
        var judge = ToolCallStreamJudge(tools: tools)
        #expect(judge.feed(Self.event(#"{"role":"assistant","content":null}"#)) == .hold)
        #expect(judge.feed(Self.event(#"{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"get_","arguments":""}}]}"#)) == .hold)
        #expect(judge.feed(Self.event(#"{"tool_calls":[{"index":0,"function":{"name":"weather","arguments":"{\"city\":"}}]}"#)) == .hold)
        #expect(judge.feed(Self.event(#"{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}"#)) == .hold)
        #expect(judge.feed(Self.event("{}", finish: "tool_calls")) == .judged(nil))
        #expect(judge.feed(Data("[DONE]".utf8)) == .release)
    }

    @Test func streamFindsABadCall() {
        var judge = ToolCallStreamJudge(tools: tools)
        #expect(judge.feed(Self.event(#"{"tool_calls":[{"index":0,"function":{"name":"delete_everything","arguments":"{}"}}]}"#)) == .hold)
        #expect(judge.feed(Self.event(#"{"tool_calls":[{"index":1,"function":{"name":"search","arguments":"{}"}}]}"#)) == .hold)
        #expect(judge.feed(Data("[DONE]".utf8)) == .judged(BadToolCall(tool: "delete_everything", problem: .unknownTool)))
    }

    @Test func streamWithTextIsReleasedAtOnce() {
        var judge = ToolCallStreamJudge(tools: tools)
        #expect(judge.feed(Self.event(#"{"role":"assistant","content":""}"#)) == .hold)
        #expect(judge.feed(Self.event(#"{"content":"Hello"}"#)) == .release)
        #expect(judge.feed(Self.event(#"{"tool_calls":[{"index":0,"function":{"name":"nope"}}]}"#)) == .release)
    }

    @Test func streamThatCannotBeReadIsReleased() {
        var judge = ToolCallStreamJudge(tools: tools)
        #expect(judge.feed(Data("{not json".utf8)) == .release)
        var other = ToolCallStreamJudge(tools: tools)
        #expect(other.feed(Self.event(#"{"tool_calls":[{"index":-3}]}"#)) == .release)
        var empty = ToolCallStreamJudge(tools: tools)
        #expect(empty.feed(Self.event("{}", finish: "stop")) == .release)
    }
}

@Suite struct SSEEventSplitterTests {
    @Test func payloadsAcrossChunks() {
        let stream = Array("data: {\"a\":1}\n\n: ping\n\nevent: x\r\ndata: one\r\ndata: two\r\n\r\ndata: [DONE]\n\n".utf8)
        for cut in 0...stream.count {
            var s = SSEEventSplitter()
            let got = s.feed(stream[..<cut]) + s.feed(stream[cut...])
            #expect(got.map { String(decoding: $0, as: UTF8.self) } == ["{\"a\":1}", "one\ntwo", "[DONE]"], "cut at \(cut)")
            #expect(s.pendingCount == 0)
        }
    }

    /// Every way of cutting the stream into three pieces: the search for an event's end resumes where
    /// the last feed left it, and an end straddling two cuts ("\r\n" | "\r\n") is still found.
    @Test func payloadsAcrossThreePieces() {
        let stream = Array("data: a\r\n\r\ndata: b\n\n: c\n\ndata: d\r\n\r\n".utf8)
        for a in 0...stream.count {
            for b in a...stream.count {
                var s = SSEEventSplitter()
                let got = s.feed(stream[..<a]) + s.feed(stream[a..<b]) + s.feed(stream[b...])
                #expect(got.map { String(decoding: $0, as: UTF8.self) } == ["a", "b", "d"], "cuts at \(a), \(b)")
            }
        }
    }

    @Test func oneLargeEventInSmallChunksIsOnePayload() {
        let text = String(repeating: "x", count: 300_000)
        let stream = Array("data: \(text)\n\n".utf8)
        var s = SSEEventSplitter()
        var got: [Data] = []
        var i = 0
        while i < stream.count {
            got += s.feed(stream[i..<min(stream.count, i + 1000)])
            i += 1000
        }
        #expect(got.count == 1 && got.first?.count == text.utf8.count)
        #expect(s.pendingCount == 0)
    }
}
