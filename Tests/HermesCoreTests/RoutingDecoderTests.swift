import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

@Suite struct RoutingDecoderTests {
    func decode(_ json: String, _ endpoint: RoutedEndpoint = .chatCompletions) throws(RequestError) -> DecodedRequest {
        try RequestDecoder.decode(endpoint, body: Array(json.utf8))
    }

    func refusal(_ json: String, _ endpoint: RoutedEndpoint = .chatCompletions) -> RequestError? {
        do {
            _ = try decode(json, endpoint)
            return nil
        } catch {
            return error
        }
    }

    @Test func outOfRangeNumbersAreNamed400sNotTraps() {
        for value in ["1e30", "-1e30", "1e309", "2147483648", "-2", "0.5", "99999999999999999999999999"] {
            let e = refusal(#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":\#(value)}"#)
            #expect(e?.code == "invalid_value", "max_tokens \(value)")
            #expect(e?.param == "max_tokens")
            #expect(e?.status == 400)
        }
        #expect(refusal(#"{"messages":[{"role":"user","content":"hi"}],"n_predict":"12"}"#)?.param == "n_predict")
        #expect(refusal(#"{"messages":[{"role":"user","content":"hi"}],"metadata":{"platform":3}}"#)?.param == "metadata.platform")
        #expect(refusal(#"{"messages":[{"role":"user","content":[{"type":"text","text":"a"},7]}]}"#)?.param == "messages[0].content[1]")
    }

    @Test func limitsKeepTheirSpellingAndSpan() throws {
        let json = #"{"n_predict": -1 ,"messages":[{"role":"user","content":"hi"}],"max_tokens":5.12e2,"max_completion_tokens":null}"#
        let r = try decode(json)
        #expect(r.tokenLimits.map(\.field) == ["n_predict", "max_tokens", "max_completion_tokens"])
        #expect(r.tokenLimits.map(\.value) == [-1, 512, nil])
        let bytes = Array(json.utf8)
        #expect(String(decoding: bytes[r.tokenLimits[1].span], as: UTF8.self) == "5.12e2")
        #expect(r.maxTokens == 512)
    }

    @Test func imagesAreDetectedInEveryShape() throws {
        #expect(try decode(#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:x"}}]}]}"#).hasImages)
        #expect(try decode(#"{"messages":[{"role":"user","content":[{"type":"input_image","image_url":"data:x"}]}]}"#).hasImages)
        #expect(try decode(#"{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"x"}}]}]}"#).hasImages)
        #expect(try decode(#"{"messages":[{"role":"user","content":[{"type":"tool_result","content":[{"type":"image","source":{}}]}]}]}"#).hasImages)
        #expect(try !decode(#"{"messages":[{"role":"user","content":[{"type":"text","text":"image_url"}]}]}"#).hasImages)
    }

    @Test func hostileShapesAreRefusedWithoutCrashing() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(refusal(#"{"messages":\#(deep)"#)?.code != nil)
        #expect(refusal(#"{"messages":[{"role":"user","content":"hi"}],"x":\#(deep)"#)?.code == "invalid_json")
        var bad = Array(#"{"messages":[{"role":"user","content":"h"#.utf8)
        bad += [0xC3, 0x28] + Array(#""}]}"#.utf8)
        #expect((try? RequestDecoder.decode(.chatCompletions, body: bad)) == nil)
        for truncated in [#"{"#, #"{"messages""#, #"{"messages":[{"role":"user","content":"hi"}"#, #"{"messages":[{"role":"us"#, "nul", "-", "1."] {
            #expect(refusal(truncated)?.code == "invalid_json" || refusal(truncated)?.code == "invalid_body", "\(truncated)")
        }
        #expect(refusal("\u{0}")?.code == "invalid_json")
        #expect(refusal(#"{"messages":[{"role":"user","content":"a\u{1}b"}]}"#)?.code == "invalid_json")
        #expect(refusal("[1,2]")?.code == "invalid_body")
    }

    @Test func escapesAreDecodedForTheText() throws {
        let r = try decode(#"{"messages":[{"role":"user","content":"caf\u00e9 \ud83d\ude00 \"q\" a\/b\n"}]}"#)
        #expect(r.promptText == "café 😀 \"q\" a/b\n")
    }

    @Test func modelIsInsertedWhenAbsentAndReplacedWhenPresent() throws {
        let absent = Array(#"{ "messages":[{"role":"user","content":"hi"}] }"#.utf8)
        let r = try RequestDecoder.decode(.chatCompletions, body: absent)
        let out = BodySplice.apply(BodySplice.edits(for: r, model: "gpt-\"x\""), to: absent)
        #expect(String(decoding: out, as: UTF8.self) == #"{"model":"gpt-\"x\"", "messages":[{"role":"user","content":"hi"}] }"#)
        let present = Array(#"{"model" : null,"messages":[{"role":"user","content":"hi"}]}"#.utf8)
        let p = try RequestDecoder.decode(.chatCompletions, body: present)
        #expect(String(decoding: BodySplice.apply(BodySplice.edits(for: p, model: "m"), to: present), as: UTF8.self)
            == #"{"model" : "m","messages":[{"role":"user","content":"hi"}]}"#)
    }

    @Test func clampOnlyLowersWhatTheClientSent() throws {
        let json = Array(#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":4096,"max_completion_tokens":100}"#.utf8)
        let r = try RequestDecoder.decode(.chatCompletions, body: json)
        let out = String(decoding: BodySplice.apply(BodySplice.edits(for: r, clampTokens: 512), to: json), as: UTF8.self)
        #expect(out == #"{"messages":[{"role":"user","content":"hi"}],"max_tokens":512,"max_completion_tokens":100}"#)
        let none = Array(#"{"messages":[{"role":"user","content":"hi"}]}"#.utf8)
        let n = try RequestDecoder.decode(.chatCompletions, body: none)
        #expect(BodySplice.edits(for: n, clampTokens: 512).isEmpty)
    }

    // MARK: properties

    /// A random accepted chat body: random member order, white space, escapes and number spellings.
    static func randomBody(_ g: inout SplitMix) -> String {
        func ws() -> String { ["", " ", "\n  ", "\t"].randomElement(using: &g)! }
        func str() -> String {
            let pieces = ["hi", "caf\\u00e9", "\\\"q\\\"", "a\\/b", "line\\n", "\u{00e9}t\u{00e9}", "\\ud83d\\ude00", "x y z", "\\\\"]
            return "\"" + (0..<Int.random(in: 0...4, using: &g)).map { _ in pieces.randomElement(using: &g)! }.joined() + "\""
        }
        func number(_ v: Int) -> String {
            [String(v), "\(v).0", "\(v)e0", v % 10 == 0 && v > 0 ? "\(v / 10)E1" : String(v)].randomElement(using: &g)!
        }
        var members: [String] = []
        var messages: [String] = []
        for _ in 0..<Int.random(in: 1...4, using: &g) {
            let content: String
            switch Int.random(in: 0...3, using: &g) {
            case 0: content = str()
            case 1: content = "null"
            case 2: content = "[{\"type\":\"text\",\"text\":\(str())},\(ws()){\"type\":\"image_url\",\"image_url\":{\"url\":\(str())}}]"
            default: content = "[\(str()),\(ws())\(str())]"
            }
            messages.append("{\(ws())\"role\"\(ws()):\(ws())\"user\",\"content\":\(content)}")
        }
        members.append("\"messages\":\(ws())[\(messages.joined(separator: ",\(ws())"))]")
        if Bool.random(using: &g) { members.append("\"model\":\(str())") }
        if Bool.random(using: &g) { members.append("\"max_tokens\":\(ws())\(number(Int.random(in: 0...100_000, using: &g)))") }
        if Bool.random(using: &g) { members.append("\"max_completion_tokens\":\(number(Int.random(in: 0...100_000, using: &g)))") }
        if Bool.random(using: &g) { members.append("\"n_predict\":\(number(Int.random(in: -1...100_000, using: &g)))") }
        if Bool.random(using: &g) { members.append("\"stream\":\(Bool.random(using: &g))") }
        if Bool.random(using: &g) { members.append("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"a\":[1,2.5e-3,true,null]}}}]") }
        if Bool.random(using: &g) { members.append("\"metadata\":{\"platform\":\(str()),\"toolsets\":[\"web\",3]}") }
        if Bool.random(using: &g) { members.append("\"temperature\":0.25,\"stop\":[\"\\n\"]") }
        members.shuffle(using: &g)
        return "\(ws()){\(ws())" + members.joined(separator: "\(ws()),\(ws())") + "\(ws())}\(ws())"
    }

    @Test func splicedBodyDecodesAsTheOriginalPlusExactlyTheEdits() throws {
        var g = SplitMix(state: 0x5EED)
        for round in 0..<2000 {
            let original = Array(Self.randomBody(&g).utf8)
            let before = try RequestDecoder.decode(.chatCompletions, body: original)
            #expect(try JSONSerialization.jsonObject(with: Data(original)) is [String: Any])
            let model: String? = Bool.random(using: &g) ? ["gpt-4.1", "a\"b\\c\n", "é"].randomElement(using: &g)! : nil
            let clamp: Int? = Bool.random(using: &g) ? Int.random(in: 1...50_000, using: &g) : nil
            let edits = BodySplice.edits(for: before, model: model, clampTokens: clamp)
            let spliced = BodySplice.apply(edits, to: original)
            let after = try RequestDecoder.decode(.chatCompletions, body: spliced)

            var expected = before
            if let model { expected.model = model.isEmpty ? nil : model }
            if let clamp {
                for i in expected.tokenLimits.indices where (expected.tokenLimits[i].value ?? Int.min) > clamp {
                    expected.tokenLimits[i].value = clamp
                }
            }
            #expect(after.model == expected.model, "round \(round)")
            #expect(after.tokenLimits.map(\.value) == expected.tokenLimits.map(\.value), "round \(round)")
            #expect(after.tokenLimits.map(\.field) == expected.tokenLimits.map(\.field), "round \(round)")
            #expect(after.promptText == before.promptText && after.hasTools == before.hasTools && after.hasImages == before.hasImages
                && after.stream == before.stream && after.metadata == before.metadata, "round \(round)")
            // Untouched bytes are untouched: the text before the first edit and after the last one.
            if let first = edits.first, let last = edits.last {
                #expect(spliced.prefix(first.range.lowerBound).elementsEqual(original.prefix(first.range.lowerBound)))
                let tail = original.count - last.range.upperBound
                #expect(spliced.suffix(tail).elementsEqual(original.suffix(tail)))
            } else {
                #expect(spliced == original)
            }
        }
    }

    @Test func mutatedBodiesNeverCrashAndWhatIsAcceptedIsJSON() throws {
        var g = SplitMix(state: 0xF00D)
        var accepted = 0
        for _ in 0..<3000 {
            var bytes = Array(Self.randomBody(&g).utf8)
            for _ in 0..<Int.random(in: 1...3, using: &g) {
                guard !bytes.isEmpty else { break }
                let at = Int.random(in: 0..<bytes.count, using: &g)
                switch Int.random(in: 0...3, using: &g) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &g)
                case 1: bytes.removeSubrange(at...)
                case 2: bytes.remove(at: at)
                default: bytes.insert(Array("{[\",:}]\\0e-".utf8).randomElement(using: &g)!, at: at)
                }
            }
            if (try? RequestDecoder.decode(.chatCompletions, body: bytes)) != nil {
                accepted += 1
                // The scanner is at least as strict as Foundation's parser.
                #expect((try? JSONSerialization.jsonObject(with: Data(bytes))) != nil, "\(String(decoding: bytes, as: UTF8.self))")
            }
        }
        #expect(accepted > 0)
    }
}

@Suite struct RoutingScannerWordTests {
    /// The eight-byte test must flag every word holding a special byte (no false negatives).
    @Test func everySpecialByteInEveryPositionIsFlagged() {
        let plain = Array("abcdefgh".utf8)
        let specials: [UInt8] = [0x22, 0x5C, 0x00, 0x1F, 0x80, 0xFF, 0xC3]
        for s in specials {
            for i in 0..<8 {
                var w = plain
                w[i] = s
                let word = w.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                #expect(JSONScanner.hasSpecialByte(word), "byte \(s) at \(i)")
            }
        }
        let clean = plain.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(!JSONScanner.hasSpecialByte(clean))
        // Long strings around every kind of special byte decode as before.
        let text = String(repeating: "x", count: 37) + "\\\"" + String(repeating: "y", count: 9) + "é" + String(repeating: "z", count: 16)
        let r = try? RequestDecoder.decode(.chatCompletions, body: Array(#"{"messages":[{"role":"user","content":"\#(text)"}]}"#.utf8))
        #expect(r?.promptText == String(repeating: "x", count: 37) + "\"" + String(repeating: "y", count: 9) + "é" + String(repeating: "z", count: 16))
        #expect(r?.promptScalars == 37 + 1 + 9 + 1 + 16)
    }

    /// The eight-at-a-time scalar count agrees with Swift's own count on any valid UTF-8 of any length
    /// and alignment (one- to four-byte scalars mixed), all-ASCII and all-continuation runs included.
    @Test func scalarCountMatchesUnicodeScalarsOnRandomText() {
        var g = SplitMix(state: 0x5CA1_AB1E)
        let pieces = ["a", "Z", "\n", "é", "ß", "€", "中", "😀", "\u{10FFFF}", " "]
        // Long ones too: the counters are summed every 255 words (2,040 bytes).
        for round in 0..<520 {
            let length = round < 500 ? Int.random(in: 0..<70, using: &g) : Int.random(in: 500..<6000, using: &g)
            let text = (0..<length).map { _ in pieces.randomElement(using: &g)! }.joined()
            #expect(DecodedRequest.scalarCount(Array(text.utf8)) == text.unicodeScalars.count, "\(Array(text.utf8))")
        }
        for text in [String(repeating: "a", count: 5000), String(repeating: "😀", count: 3000), String(repeating: "中", count: 2041)] {
            #expect(DecodedRequest.scalarCount(Array(text.utf8)) == text.unicodeScalars.count)
        }
    }
}
