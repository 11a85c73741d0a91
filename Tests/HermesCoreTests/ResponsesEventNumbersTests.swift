import Foundation
import Testing

@testable import HermesCore

/// Numbers a Responses stream's events lack, as llama-server b11434 sends them (its
/// `to_json_oaicompat_resp` events: reasoning, text, a tool call, then the final `*.done` events).
@Suite struct ResponsesEventNumbersTests {
    static let stream: [String] = [
        #"{"type":"response.created","response":{"id":"r","object":"response","status":"in_progress"}}"#,
        #"{"type":"response.in_progress","response":{"id":"r","object":"response","status":"in_progress"}}"#,
        #"{"type":"response.output_item.added","item":{"id":"rs_1","summary":[],"type":"reasoning","content":[]}}"#,
        #"{"type":"response.reasoning_text.delta","delta":"hm","item_id":"rs_1"}"#,
        #"{"type":"response.output_item.added","item":{"content":[],"id":"msg_1","role":"assistant","type":"message"}}"#,
        #"{"type":"response.content_part.added","item_id":"msg_1","part":{"type":"output_text","text":""}}"#,
        #"{"type":"response.output_text.delta","item_id":"msg_1","delta":"Hi"}"#,
        #"{"type":"response.output_item.added","item":{"id":"fc_7","arguments":"","call_id":"call_7","name":"f","type":"function_call"}}"#,
        #"{"type":"response.function_call_arguments.delta","delta":"{}","item_id":"fc_7"}"#,
        #"{"type":"response.output_item.done","item":{"id":"rs_1","type":"reasoning"}}"#,
        #"{"type":"response.output_text.done","item_id":"msg_1","text":"Hi"}"#,
        #"{"type":"response.content_part.done","item_id":"msg_1","part":{"type":"output_text","text":"Hi"}}"#,
        #"{"type":"response.output_item.done","item":{"type":"message","id":"msg_1"}}"#,
        #"{"type":"response.output_item.done","item":{"id":"fc_7","type":"function_call"}}"#,
        #"{"type":"response.completed","response":{"id":"r","object":"response","status":"completed","output":[]}}"#,
    ]

    // sequence, output_index (nil: none added), content_index (nil: none added)
    static let expected: [(Int, Int?, Int?)] = [
        (0, nil, nil), (1, nil, nil),
        (2, 0, nil), (3, 0, 0),
        (4, 1, nil), (5, 1, 0), (6, 1, 0),
        (7, 2, nil), (8, 2, nil),
        (9, 0, nil), (10, 1, 0), (11, 1, 0), (12, 1, nil), (13, 2, nil),
        (14, nil, nil),
    ]

    @Test func llamaServersStreamGetsConsistentNumbers() throws {
        var numbers = ResponsesEventNumbers()
        for (i, event) in Self.stream.enumerated() {
            let out = numbers.number(Array(event.utf8))
            let o = try #require(try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any], "event \(i)")
            let (seq, output, content) = Self.expected[i]
            #expect(o["sequence_number"] as? Int == seq, "event \(i)")
            #expect(o["output_index"] as? Int == output, "event \(i): \(String(decoding: out, as: UTF8.self))")
            #expect(o["content_index"] as? Int == content, "event \(i)")
            // Only inserted after the opening brace: the rest is the upstream's bytes.
            #expect(String(decoding: out, as: UTF8.self).hasSuffix(String(event.dropFirst())))
        }
    }

    @Test func numbersTheUpstreamSentAreKeptAndFollowed() {
        var numbers = ResponsesEventNumbers()
        let given = #"{"sequence_number":0,"output_index":3,"type":"response.output_item.added","item":{"id":"m","type":"message"}}"#
        #expect(numbers.number(Array(given.utf8)) == Array(given.utf8))
        let delta = numbers.number(Array(#"{"type":"response.output_text.delta","item_id":"m","delta":"x"}"#.utf8))
        #expect(String(decoding: delta, as: UTF8.self).hasPrefix(#"{"sequence_number":1,"output_index":3,"content_index":0,"#))
        let next = numbers.number(Array(#"{"type":"response.output_item.added","item":{"id":"n"}}"#.utf8))
        #expect(String(decoding: next, as: UTF8.self).hasPrefix(#"{"sequence_number":2,"output_index":4,"#))
    }

    @Test(arguments: [
        "", "[]", "{}", "not json", #"{"type":7}"#, #"{"type":"chat.completion.chunk","choices":[]}"#,
        #"{"type":"response.created""#, #"{"type":"response.output_text.delta","output_index":"x"} trailing"#,
    ])
    func whatIsNotAResponsesEventPassesUnchanged(_ payload: String) {
        var numbers = ResponsesEventNumbers()
        #expect(numbers.number(Array(payload.utf8)) == Array(payload.utf8))
    }

    @Test func anOddValueIsNotDuplicated() throws {
        var numbers = ResponsesEventNumbers()
        let out = numbers.number(Array(#"{"type":"response.output_text.delta","item_id":"m","output_index":"x","content_index":null}"#.utf8))
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.components(separatedBy: "output_index").count == 2 && text.components(separatedBy: "content_index").count == 2, "\(text)")
        #expect(try JSONSerialization.jsonObject(with: Data(out)) is [String: Any])
    }

    @Test func theSSESpliceNumbersResponsesStreamsOnly() {
        let sse = Self.stream.prefix(3).map { "event: x\ndata: \($0)\n\n" }.joined()
        var plain = SSEModelSplice(name: "local")
        #expect(!String(decoding: plain.feed(Array(sse.utf8)), as: UTF8.self).contains("sequence_number"))
        var responses = SSEModelSplice(name: "local")
        responses.numbers = ResponsesEventNumbers()
        let out = String(decoding: responses.feed(Array(sse.utf8)) + responses.finish(), as: UTF8.self)
        #expect(out.contains(#"data: {"sequence_number":2,"output_index":0,"type":"response.output_item.added""#), "\(out)")
    }
}
