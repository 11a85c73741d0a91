import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// Prefix keys of the other shapes a warm-cache profile places (issue 17): Anthropic Messages,
/// Responses (`input` items, `instructions`), completions (whole chunks of the prompt). Pure, tables.
@Suite struct WarmCacheKeysTests {
    func keys(_ json: String, _ endpoint: RoutedEndpoint) throws -> [UInt64] {
        let body = Array(json.utf8)
        return PrefixKeys.keys(for: try RequestDecoder.decode(endpoint, body: body), body: body)
    }

    func messages(_ list: [String], system: String = "be brief", tools: Bool = false) -> String {
        let t = tools ? #""tools":[{"name":"ls","input_schema":{"type":"object"}}],"# : ""
        return #"{"model":"m","max_tokens":5,\#(t)"system":"\#(system)","messages":[\#(list.joined(separator: ","))]}"#
    }

    @Test func anAnthropicConversationGrowsItsChain() throws {
        let u1 = #"{"role":"user","content":"list the files"}"#
        let a1 = #"{"role":"assistant","content":[{"type":"text","text":"a b"}]}"#
        let u2 = #"{"role":"user","content":[{"type":"text","text":"two more"}]}"#
        let turn1 = try keys(messages([u1]), .messages)
        let turn2 = try keys(messages([u1, a1, u2]), .messages)
        #expect(turn1.count == 2 && turn2.count == 4)
        #expect(PrefixKeys.sharedCount(turn1, turn2) == 2)
        #expect(PrefixKeys.sharedCount(turn2, try keys(messages([u1, a1, u2], tools: true), .messages)) == 0, "tools are the head")
    }

    func responses(_ input: String, instructions: String? = "be brief") -> String {
        #"{"model":"m",\#(instructions.map { "\"instructions\":\"\($0)\"," } ?? "")"input":\#(input),"max_output_tokens":5}"#
    }

    @Test func responsesItemsAreMessagesAndInstructionsTheHead() throws {
        let u1 = #"{"role":"user","content":"list the files"}"#
        let call = #"{"type":"function_call","call_id":"c1","name":"ls","arguments":"{}"}"#
        let out = #"{"type":"function_call_output","call_id":"c1","output":"a b c"}"#
        let turn1 = try keys(responses("[\(u1)]"), .responses)
        let turn2 = try keys(responses("[\(u1), \(call),\(out)]"), .responses)
        #expect(turn1.count == 2 && turn2.count == 4)
        #expect(PrefixKeys.sharedCount(turn1, turn2) == 2)
        #expect(PrefixKeys.sharedCount(turn1, try keys(responses("[\(u1)]", instructions: "be long"), .responses)) == 0)
        #expect(PrefixKeys.sharedCount(turn1, try keys(responses("[\(u1)]", instructions: nil), .responses)) == 0)
        // A string input is one message.
        let text = try keys(responses(#""list the files""#), .responses)
        #expect(text.count == 2 && text[0] == turn1[0] && text[1] != turn1[1])
    }

    /// A string `prompt` in whole 1 KiB chunks: a continuation repeats the earlier prompt's bytes, so it
    /// shares every key of it; the tail short of a chunk is in none.
    @Test func aCompletionsPromptIsKeyedInWholeChunks() throws {
        func body(_ prompt: String) -> String { #"{"model":"m","prompt":"\#(prompt)","max_tokens":4}"# }
        let text = String(repeating: "Rule about files: answer in one line. ", count: 80)  // 3,040 bytes
        let turn1 = try keys(body(text), .completions)
        #expect(turn1.count == 1 + (1 + text.utf8.count) / PrefixKeys.chunkBytes, "the head and every whole chunk, quote included")
        let turn2 = try keys(body(text + "A: a b c\\nQ: two more\\nA:"), .completions)
        #expect(PrefixKeys.sharedCount(turn1, turn2) == turn1.count, "the later turn continues the earlier")
        let other = try keys(body("X" + text), .completions)
        #expect(PrefixKeys.sharedCount(turn1, other) == 1, "a change in the first chunk: only the head")
        // Short prompts, a list prompt and token ids: the head alone, never a chat request's head.
        #expect(try keys(body("hi"), .completions).count == 1)
        #expect(try keys(#"{"prompt":["a","b"]}"#, .completions).count == 1)
        #expect(try keys(#"{"prompt":[1,2,3]}"#, .completions).count == 1)
        #expect(try keys(body("hi"), .completions)[0] != (try keys(#"{"messages":[{"role":"user","content":"hi"}]}"#, .chatCompletions))[0])
    }

    @Test(arguments: [
        (0..<2, 4, [Range<Int>]()),  // `""`
        (0..<6, 4, [0..<4]),  // `"abcd"`: the opening quote and three bytes; the closing quote in none
        (10..<19, 4, [10..<14, 14..<18]),
        (10..<18, 4, [10..<14]),
        (0..<1, 4, []),
        (0..<100, 0, []),
    ]) func chunks(_ literal: Range<Int>, size: Int, expected: [Range<Int>]) {
        #expect(PrefixKeys.chunks(ofString: literal, size: size) == expected)
    }

    @Test func onlyGeneratingEndpointsPickASlot() {
        #expect(RoutedEndpoint.allCases.filter(\.picksSlot) == [.chatCompletions, .completions, .responses, .messages])
        #expect(RoutedEndpoint.allCases.filter(\.takesSlotID) == [.chatCompletions, .completions, .responses],
                "b11434's Anthropic converter drops id_slot")
    }

    /// `/slots` as b11434 answers it (a slot that ran nothing lists no `id_task`), and what is not.
    @Test(arguments: [
        (#"[{"id":0,"is_processing":false},{"id":1,"is_processing":false,"id_task":6},{"id":2,"is_processing":false,"id_task":9}]"#, 2),
        (#"[{"id":0,"is_processing":false,"id_task":3},{"id":1,"is_processing":true,"id_task":12},{"id":2,"is_processing":false,"id_task":9}]"#, 2),
        (#"[{"id":0,"is_processing":false}]"#, nil),
        (#"[{"id":0,"id_task":4},{"id":1,"id_task":4}]"#, nil),
        (#"[{"id":999,"id_task":4}]"#, nil),
        (#"[{"id":0,"id_task":1e300}]"#, nil),
        (#"{"id":0}"#, nil),
        ("", nil),
        (#"[{"id":"0","id_task":4}]"#, nil),
    ] as [(String, Int?)]) func theSlotThatRanTheLatestTask(_ json: String, expected: Int?) {
        #expect(SlotsReport.lastServed(Data(json.utf8)) == expected)
    }

    /// The slot a generation probe runs in: the idle one holding least (an empty one first), never a
    /// busy one; nil where the answer says nothing clear.
    @Test(arguments: [
        // b11434's shape: slot 0 ran nothing, slot 1 holds a 42-token prompt.
        (#"[{"id":0,"n_ctx":1024,"is_processing":false},{"id":1,"n_ctx":1024,"is_processing":false,"id_task":0,"n_prompt_tokens":42}]"#, 0),
        (#"[{"id":0,"is_processing":false,"id_task":3,"n_prompt_tokens":900},{"id":1,"is_processing":false,"id_task":5,"n_prompt_tokens":12}]"#, 1),
        (#"[{"id":0,"is_processing":true},{"id":1,"is_processing":false,"id_task":5,"n_prompt_tokens":800}]"#, 1),
        (#"[{"id":0,"is_processing":false,"id_task":1,"n_prompt_tokens":50},{"id":1,"is_processing":false,"id_task":2,"n_prompt_tokens":50}]"#, 0),
        (#"[{"id":0,"is_processing":true}]"#, nil),
        (#"[{"id":0,"id_task":1,"n_prompt_tokens":-5},{"id":1,"id_task":2,"n_prompt_tokens":3}]"#, 0),
        (#"[{"id":0,"id_task":1,"n_prompt_tokens":1e300}]"#, nil),
        (#"[{"id":300}]"#, nil),
        ("[]", nil),
        ("not json", nil),
    ] as [(String, Int?)]) func theSlotAProbeRunsIn(_ json: String, expected: Int?) {
        #expect(SlotsReport.probeSlot(Data(json.utf8))?.slot == expected)
    }

    @Test func whatTheProbesSlotHolds() {
        let both = #"[{"id":0,"is_processing":false,"id_task":3,"n_prompt_tokens":900},{"id":1,"is_processing":false,"id_task":5,"n_prompt_tokens":300}]"#
        let pick = SlotsReport.probeSlot(Data(both.utf8))
        #expect(pick?.slot == 1 && pick?.holds == 300)
        #expect((pick?.holds ?? 0) > SlotsReport.probeDisplaces, "every idle slot holds a conversation: the probe is skipped")
        let empty = #"[{"id":0,"is_processing":false},{"id":1,"is_processing":false,"id_task":5,"n_prompt_tokens":300}]"#
        #expect(SlotsReport.probeSlot(Data(empty.utf8))?.holds == 0)
    }
}
