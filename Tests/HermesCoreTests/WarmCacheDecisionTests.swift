import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// Prefix keys, the slot choice and the restore decision of warm prompt caches (issue 17): pure, tables.
@Suite struct WarmCacheDecisionTests {
    func keys(_ json: String, _ endpoint: RoutedEndpoint = .chatCompletions) throws -> [UInt64] {
        let body = Array(json.utf8)
        return PrefixKeys.keys(for: try RequestDecoder.decode(endpoint, body: body), body: body)
    }

    let system = #"{"role":"system","content":"you are terse"}"#
    let user1 = #"{"role":"user","content":"list the files"}"#
    let tool1 = #"{"role":"assistant","content":"","tool_calls":[{"id":"1","type":"function","function":{"name":"ls","arguments":"{}"}}]}"#
    let tools = #""tools":[{"type":"function","function":{"name":"ls","parameters":{}}}]"#

    func chat(_ messages: [String], tools: Bool = true, extra: String = "") -> String {
        "{\(extra)\"model\":\"m\",\(tools ? self.tools + "," : "")\"messages\":[\(messages.joined(separator: ","))]}"
    }

    @Test func aLaterTurnSharesEveryKeyOfTheEarlierOne() throws {
        let turn1 = try keys(chat([system, user1]))
        let turn2 = try keys(chat([system, user1, tool1, #"{"role":"tool","content":"a b c"}"#]))
        #expect(turn1.count == 3, "head + 2 messages")
        #expect(turn2.count == 5)
        #expect(PrefixKeys.sharedCount(turn1, turn2) == 3)
        // Where the other members sit and what the request asks for do not change the keys.
        let reordered = try keys(chat([system, user1], extra: #""stream":true,"max_tokens":9,"#))
        #expect(reordered == turn1)
    }

    @Test func anyChangeCutsTheChainThere() throws {
        let base = try keys(chat([system, user1, tool1]))
        #expect(PrefixKeys.sharedCount(base, try keys(chat([system, user1, tool1], tools: false))) == 0, "other tools: other head")
        let otherSystem = #"{"role":"system","content":"you are verbose"}"#
        #expect(PrefixKeys.sharedCount(base, try keys(chat([otherSystem, user1, tool1]))) == 1)
        let otherUser = #"{"role":"user","content":"list the filez"}"#
        #expect(PrefixKeys.sharedCount(base, try keys(chat([system, otherUser, tool1]))) == 2)
        // Span boundaries count: the same bytes split differently are different messages.
        let a = try keys(chat([#"{"role":"user","content":"ab"}"#, #"{"role":"user","content":"c"}"#]))
        let b = try keys(chat([#"{"role":"user","content":"a"}"#, #"{"role":"user","content":"bc"}"#]))
        #expect(a[1] != b[1] && a[2] != b[2])
    }

    @Test func anthropicSystemIsPartOfTheHead() throws {
        let one = try keys(#"{"model":"m","max_tokens":5,"system":"be brief","messages":[{"role":"user","content":"hi"}]}"#, .messages)
        let two = try keys(#"{"model":"m","max_tokens":5,"system":"be long","messages":[{"role":"user","content":"hi"}]}"#, .messages)
        #expect(one.count == 2 && two.count == 2)
        #expect(PrefixKeys.sharedCount(one, two) == 0)
    }

    struct ChooserCase: Sendable, CustomTestStringConvertible {
        var name: String
        var slots: [SlotMemory]
        var request: [UInt64]
        var expected: SlotChooser.Choice?
        var testDescription: String { name }
    }

    static let chooserCases: [ChooserCase] = [
        ChooserCase(name: "longest shared prefix wins", slots: [
            SlotMemory(id: 0, keys: [1, 2], lastUsed: 1), SlotMemory(id: 1, keys: [1, 2, 3], lastUsed: 5),
        ], request: [1, 2, 3, 4], expected: .init(slot: 1, shared: 3)),
        ChooserCase(name: "a busy slot is never chosen", slots: [
            SlotMemory(id: 0, keys: [1], lastUsed: 1), SlotMemory(id: 1, busy: true, keys: [1, 2, 3], lastUsed: 5),
        ], request: [1, 2, 3, 4], expected: .init(slot: 0, shared: 1)),
        ChooserCase(name: "nothing shared: least recently used", slots: [
            SlotMemory(id: 0, keys: [7], lastUsed: 9), SlotMemory(id: 1, keys: [8], lastUsed: 2), SlotMemory(id: 2, keys: [9], lastUsed: 4),
        ], request: [1, 2], expected: .init(slot: 1, shared: 0)),
        ChooserCase(name: "never-used slots go first", slots: [
            SlotMemory(id: 0, keys: [7], lastUsed: 3), SlotMemory(id: 1),
        ], request: [1], expected: .init(slot: 1, shared: 0)),
        ChooserCase(name: "a diverging conversation keeps its slot while an empty one is free", slots: [
            SlotMemory(id: 0, keys: [1, 2, 3], lastUsed: 1), SlotMemory(id: 1),
        ], request: [1, 2, 9], expected: .init(slot: 1, shared: 0)),
        ChooserCase(name: "no empty slot: the longest shared prefix beyond the head", slots: [
            SlotMemory(id: 0, keys: [5, 6], lastUsed: 0), SlotMemory(id: 1, keys: [1, 2, 3], lastUsed: 4),
        ], request: [1, 2, 9], expected: .init(slot: 1, shared: 2)),
        ChooserCase(name: "a shared head alone does not beat least recently used", slots: [
            SlotMemory(id: 0, keys: [1, 7], lastUsed: 1), SlotMemory(id: 1, keys: [1, 8], lastUsed: 4),
        ], request: [1, 9], expected: .init(slot: 0, shared: 1)),
        ChooserCase(name: "all busy: no id_slot", slots: [SlotMemory(id: 0, busy: true), SlotMemory(id: 1, busy: true)],
                    request: [1], expected: nil),
    ]

    @Test(arguments: chooserCases) func slotChoice(_ c: ChooserCase) {
        #expect(SlotChooser.choose(c.request, slots: c.slots) == c.expected)
    }

    @Test func restoreOnlyWhenASavedConversationBeatsEveryLiveSlot() {
        let request: [UInt64] = [1, 2, 3, 4]
        let empty = [SlotMemory(id: 0), SlotMemory(id: 1, keys: [9, 9], lastUsed: 1)]
        let saved = [SavedPrefix(file: "a.bin", keys: [1, 2, 3], tokens: 900), SavedPrefix(file: "b.bin", keys: [1, 2], tokens: 400)]
        #expect(RestoreChoice.decide(request, slots: empty, saved: saved) == .restore(file: "a.bin", slot: 0, sharedKeys: 3, tokens: 900))
        // A live slot already holding as much: used as it is.
        let warm = [SlotMemory(id: 0, keys: [1, 2, 3], lastUsed: 1), SlotMemory(id: 1)]
        #expect(RestoreChoice.decide(request, slots: warm, saved: saved) == .live(.init(slot: 0, shared: 3)))
        // Restored into the slot that loses least, not into the warm one.
        let partly = [SlotMemory(id: 0, keys: [1, 2], lastUsed: 1), SlotMemory(id: 1, keys: [5], lastUsed: 3)]
        #expect(RestoreChoice.decide(request, slots: partly, saved: saved) == .restore(file: "a.bin", slot: 1, sharedKeys: 3, tokens: 900))
        // A file marked useless is never tried again; a head-only match is not a conversation.
        let useless = [SavedPrefix(file: "a.bin", keys: [1, 2, 3], tokens: 900, useless: true)]
        #expect(RestoreChoice.decide(request, slots: empty, saved: useless) == .live(.init(slot: 0, shared: 0)))
        #expect(RestoreChoice.decide(request, slots: empty, saved: [SavedPrefix(file: "h.bin", keys: [1, 7], tokens: 50)])
            == .live(.init(slot: 0, shared: 0)))
        // Nothing matches: cold, nothing restored.
        #expect(RestoreChoice.decide([5, 6], slots: empty, saved: saved) == .live(.init(slot: 0, shared: 0)))
        #expect(RestoreChoice.decide(request, slots: [SlotMemory(id: 0, busy: true)], saved: saved) == .none)
    }

    @Test func cacheCountIsTheLastOneInTheTail() {
        let sse = Array("data: {\"timings\":{\"cache_n\":12}}\n\ndata: {\"choices\":[],\"timings\":{\"cache_n\": 2342,\"prompt_n\":5}}\n\ndata: [DONE]\n\n".utf8)
        #expect(CacheCountScan.cacheN(in: sse) == 2342)
        #expect(CacheCountScan.cacheN(in: Array("{\"cache_n\":".utf8)) == nil)
        #expect(CacheCountScan.cacheN(in: Array("{\"cache_n\":99999999999999999999}".utf8)) == 9_999_999_999, "ten digits at most")
        #expect(CacheCountScan.cacheN(in: []) == nil)
    }
}

/// The sidecar record is outside input: whatever is on disk, a clear refusal, never a trap.
@Suite struct WarmSidecarTests {
    let identity = WarmIdentity(model: "/m.gguf", modelBytes: 10, modelModified: 1, server: "/bin/ls:1:1", kvFlags: "c=4096")

    @Test func aRecordRoundTrips() throws {
        let r = SavedConversation(file: "c-1.bin", keys: [0, 1, UInt64.max], tokens: 2342, bytes: 15 << 20, savedAt: 1.7e9, identity: identity)
        let back = try SavedConversation.decode(r.encoded())
        #expect(back == r)
        #expect(back.keyValues == [0, 1, UInt64.max])
    }

    @Test(arguments: [
        "", "null", "[]", "{}", "{\"version\":1}", String(repeating: "[", count: 100_000),
    ]) func garbageIsRefused(_ text: String) {
        #expect(throws: SavedConversation.Invalid.self) { try SavedConversation.decode(Data(text.utf8)) }
    }

    @Test func outOfRangeFieldsAreRefused() throws {
        let good = SavedConversation(file: "c-1.bin", keys: [1], tokens: 5, bytes: 5, savedAt: 1, identity: identity)
        func mutated(_ change: (inout [String: Any]) -> Void) throws -> Data {
            var o = try #require(try JSONSerialization.jsonObject(with: good.encoded()) as? [String: Any])
            change(&o)
            return try JSONSerialization.data(withJSONObject: o)
        }
        let bad: [(String, (inout [String: Any]) -> Void)] = [
            ("path in the file name", { $0["file"] = "../../etc/passwd.bin" }),
            ("not a .bin", { $0["file"] = "c.json" }),
            ("negative tokens", { $0["tokens"] = -1 }),
            ("tokens past the limit", { $0["tokens"] = 1 << 40 }),
            ("huge token number", { $0["tokens"] = 1e300 }),
            ("bad key", { $0["keys"] = ["xyz"] }),
            ("no keys", { $0["keys"] = [String]() }),
            ("another version", { $0["version"] = 2 }),
            ("time in the far future", { $0["savedAt"] = 1e300 }),
        ]
        for (name, change) in bad {
            #expect(throws: SavedConversation.Invalid.self, "\(name)") { try SavedConversation.decode(try mutated(change)) }
        }
    }
}

/// Checkpoints while running: only when nothing is in flight, something grew, and after the idle pause.
@Suite struct CheckpointScheduleTests {
    struct Row: Sendable {
        var now: Double, inFlight: Int, lastFinished: Double?, grown: Bool, idle: Double, due: Bool
    }

    @Test(arguments: [
        Row(now: 10, inFlight: 0, lastFinished: 4, grown: true, idle: 5, due: true),
        Row(now: 10, inFlight: 0, lastFinished: 6, grown: true, idle: 5, due: false),
        Row(now: 10, inFlight: 1, lastFinished: 0, grown: true, idle: 5, due: false),
        Row(now: 10, inFlight: 0, lastFinished: 0, grown: false, idle: 5, due: false),
        Row(now: 10, inFlight: 0, lastFinished: nil, grown: true, idle: 5, due: false),
        Row(now: 10, inFlight: 0, lastFinished: 0, grown: true, idle: 0, due: false),
    ]) func due(_ r: Row) {
        #expect(CheckpointSchedule.isDue(now: r.now, inFlight: r.inFlight, lastFinished: r.lastFinished, grown: r.grown, idle: r.idle) == r.due)
    }
}
