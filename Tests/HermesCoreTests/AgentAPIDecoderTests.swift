import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// The Responses and Messages body shapes through the typed decoder.
@Suite struct AgentAPIDecoderTests {
    func decode(_ json: String, _ endpoint: RoutedEndpoint) throws(RequestError) -> DecodedRequest {
        try RequestDecoder.decode(endpoint, body: Array(json.utf8))
    }

    func refusal(_ json: String, _ endpoint: RoutedEndpoint) -> RequestError? {
        do {
            _ = try decode(json, endpoint)
            return nil
        } catch {
            return error
        }
    }

    @Test func responsesInputInstructionsAndLimit() throws {
        let r = try decode(#"{"model":"m","instructions":"Be brief.","input":"Say hi.","max_output_tokens":64,"stream":true,"tools":[{"type":"function","name":"f"}]}"#, .responses)
        #expect(r.promptText == "Be brief.\nSay hi.")
        #expect(r.model == "m")
        #expect(r.stream)
        #expect(r.hasTools)
        #expect(r.maxTokens == 64)
        #expect(r.tokenLimits.map(\.field) == ["max_output_tokens"])
        #expect(!r.hasImages)
        let items = try decode(#"{"input":[{"role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"data:,"}]},{"type":"function_call_output","call_id":"c","output":"sunny"}]}"#, .responses)
        #expect(items.promptText == "look\nsunny")
        #expect(items.hasImages)
    }

    @Test func messagesSystemContentBlocksAndImages() throws {
        let r = try decode(#"{"model":"claude","max_tokens":8,"system":[{"type":"text","text":"sys"}],"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"42"}]}]}"#, .messages)
        #expect(r.promptText == "sys\nhi\n42")
        #expect(r.hasImages)
        #expect(r.maxTokens == 8)
        let count = try decode(#"{"model":"claude","messages":[{"role":"user","content":"hi"}],"metadata":{"user_id":"u"}}"#, .messagesCountTokens)
        #expect(count.promptText == "hi")
        #expect(count.maxTokens == nil)
    }

    @Test func missingOrWrongFieldsAreNamed400s() {
        #expect(refusal(#"{"model":"m"}"#, .responses)?.code == "missing_input")
        #expect(refusal(#"{"input":7}"#, .responses)?.param == "input")
        #expect(refusal(#"{"input":[3]}"#, .responses)?.param == "input[0]")
        #expect(refusal(#"{"input":"x","max_output_tokens":1e40}"#, .responses)?.param == "max_output_tokens")
        #expect(refusal(#"{"max_tokens":4}"#, .messages)?.code == "missing_messages")
        #expect(refusal(#"{"messages":[]}"#, .messages)?.code == "missing_messages")
        #expect(refusal(#"{"messages":[{"content":"x"}]}"#, .messagesCountTokens)?.param == "messages[0].role")
        #expect(refusal(#"{"messages":[{"role":"user","content":"x"}],"system":5}"#, .messages)?.param == "system")
        #expect(refusal(#"{"messages":[{"role":"user","content":"x"}],"messages":[{"role":"user","content":"y"}]}"#, .messages)?.code == "duplicate_key")
    }

    @Test func mutatedBodiesNeverCrashAndWhatIsAcceptedIsJSON() {
        let seeds = [#"{"input":[{"role":"user","content":[{"type":"input_text","text":"a"}]}],"instructions":"b"}"#,
                     #"{"system":"s","messages":[{"role":"user","content":[{"type":"tool_result","content":[{"type":"text","text":"x"}]}]}]}"#]
        var rng = SplitMix(state: 13)
        for (i, seed) in seeds.enumerated() {
            let bytes = Array(seed.utf8)
            for _ in 0..<2000 {
                var b = bytes
                let n = Int.random(in: 1...3, using: &rng)
                for _ in 0..<n { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                // What the decoder accepts is JSON an upstream's parser accepts too.
                if (try? RequestDecoder.decode(i == 0 ? .responses : .messages, body: b)) != nil {
                    #expect((try? JSONSerialization.jsonObject(with: Data(b))) != nil, "\(b)")
                }
            }
        }
    }
}
