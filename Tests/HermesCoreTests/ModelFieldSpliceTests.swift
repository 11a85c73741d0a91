import Foundation
import Testing

@testable import HermesCore

/// The answer's `model` becomes the name the client asked for; nothing else moves.
@Suite struct ModelFieldSpliceTests {
    func splice(_ s: String, _ name: String = "coding-local") -> String {
        String(decoding: ModelFieldSplice.replacing(in: Array(s.utf8), with: name), as: UTF8.self)
    }

    @Test func topLevelModelOnly() {
        let chat = #"{"id":"x","model":"/models/gemma.gguf","choices":[{"message":{"content":"say \"model\":\"no\""}}]}"#
        #expect(splice(chat) == #"{"id":"x","model":"coding-local","choices":[{"message":{"content":"say \"model\":\"no\""}}]}"#)
        // A tool's own `model` argument is left alone.
        let anthropic = #"{"type":"message", "model" : "gemma","content":[{"type":"tool_use","input":{"model":"keep"}}]}"#
        #expect(splice(anthropic) == #"{"type":"message", "model" : "coding-local","content":[{"type":"tool_use","input":{"model":"keep"}}]}"#)
    }

    @Test func nestedInResponseAndMessageEvents() {
        #expect(splice(#"{"type":"response.created","response":{"id":"r","model":"gguf"}}"#)
            == #"{"type":"response.created","response":{"id":"r","model":"coding-local"}}"#)
        #expect(splice(#"{"type":"message_start","message":{"model":"gguf","usage":{}}}"#)
            == #"{"type":"message_start","message":{"model":"coding-local","usage":{}}}"#)
        #expect(splice(#"{"type":"x","other":{"model":"keep"}}"#) == #"{"type":"x","other":{"model":"keep"}}"#)
    }

    @Test func namesAreEscaped() {
        #expect(splice(#"{"model":"m"}"#, "a\"b\\c\nd") == #"{"model":"a\"b\\c\nd"}"#)
        let back = try? JSONSerialization.jsonObject(with: Data(splice(#"{"model":"m"}"#, "\u{1}é").utf8)) as? [String: Any]
        #expect(back?["model"] as? String == "\u{1}é")
    }

    @Test func brokenOrOddTextIsLeftAsIs() {
        for s in [#"{"model":"unterminated"#, #"["model","x"]"#, "", "[DONE]", #"{"model":1}"#, #"{"model":null}"#, String(repeating: "[", count: 10_000)] {
            #expect(splice(s) == s)
        }
    }

    @Test func sseEventsSplicedAcrossChunkBoundaries() {
        let stream = "data: {\"model\":\"gguf\",\"choices\":[]}\n\n: ping\n\nevent: message_start\r\ndata: {\"message\":{\"model\":\"g\"}}\r\n\r\ndata: [DONE]\n\n"
        let bytes = Array(stream.utf8)
        // Every split point gives the same output as one piece.
        var whole = SSEModelSplice(name: "n")
        let expected = whole.feed(bytes) + whole.finish()
        #expect(String(decoding: expected, as: UTF8.self)
            == "data: {\"model\":\"n\",\"choices\":[]}\n\n: ping\n\nevent: message_start\r\ndata: {\"message\":{\"model\":\"n\"}}\r\n\r\ndata: [DONE]\n\n")
        for cut in 1..<bytes.count {
            var s = SSEModelSplice(name: "n")
            let out = s.feed(bytes[..<cut]) + s.feed(bytes[cut...]) + s.finish()
            #expect(out == expected, "cut at \(cut)")
        }
    }

    @Test func anUnfinishedLastEventIsFlushed() {
        var s = SSEModelSplice(name: "n")
        #expect(s.feed(Array("data: {\"model\":\"x\"}".utf8)).isEmpty)
        #expect(String(decoding: s.finish(), as: UTF8.self) == "data: {\"model\":\"n\"}")
    }
}
