import Foundation

/// Adds the numbers a Responses API stream event lacks: `sequence_number`, `output_index`,
/// `content_index`, consistent with the items and parts seen so far in the stream.
///
/// Why: llama-server b11434's `/v1/responses` stream omits all three, and the official openai Python
/// SDK's `client.responses.stream(...)` indexes its snapshot with them (`TypeError: list indices must be
/// integers or slices, not NoneType`). A number the upstream sent is left alone (and followed); a missing
/// one is spliced in right after the event's opening brace, so every other byte goes out as it came.
///
/// A value fed one `data:` payload at a time; anything that is not a JSON object with a `type` passes
/// through unchanged. Outside input: every number is bounded, nothing traps.
public struct ResponsesEventNumbers: Sendable, Equatable {
    var sequence = 0
    var nextOutput = 0
    /// Output index by item id.
    var outputs: [String: Int] = [:]
    /// Content parts added so far, by output index.
    var parts: [Int: Int] = [:]
    /// Upper bound on any index kept (a hostile stream cannot grow the maps or the counters without end).
    public static let maxIndex = 1 << 20

    public init() {}

    /// What one event says, as far as numbering goes.
    struct Facts {
        var type: String?
        var itemID: String?
        var nestedItemID: String?
        var sequence: Int??
        var output: Int??
        var content: Int??
    }

    /// The payload with the missing numbers added (or unchanged).
    public mutating func number(_ payload: [UInt8]) -> [UInt8] {
        guard let facts = Self.read(payload), let type = facts.type, type.hasPrefix("response.") else { return payload }
        var insert: [(String, Int)] = []
        let seq = sequence
        sequence = min(sequence, Int.max - 1) + 1
        if facts.sequence == nil { insert.append(("sequence_number", seq)) }

        let id = facts.nestedItemID ?? facts.itemID
        var output: Int?
        if case .some(.some(let given)) = facts.output, (0...Self.maxIndex).contains(given) {
            output = given
            if let id, outputs.count < Self.maxIndex { outputs[id] = given }
            nextOutput = max(nextOutput, min(given + 1, Self.maxIndex))
        } else if type == "response.output_item.added" || id != nil {
            if let id, let known = outputs[id] {
                output = known
            } else {
                output = nextOutput
                nextOutput = min(nextOutput + 1, Self.maxIndex)
                if let id, outputs.count < Self.maxIndex { outputs[id] = output }
            }
            if facts.output == nil, let output { insert.append(("output_index", output)) }
        }

        if let output, Self.hasContentIndex(type) {
            let added = parts[output, default: 0]
            let index: Int
            if case .some(.some(let given)) = facts.content, (0...Self.maxIndex).contains(given) {
                index = given
                if type == "response.content_part.added" { parts[output] = max(added, min(given + 1, Self.maxIndex)) }
            } else if type == "response.content_part.added" {
                index = added
                parts[output] = min(added + 1, Self.maxIndex)
            } else {
                index = max(0, added - 1)
            }
            if facts.content == nil { insert.append(("content_index", index)) }
        }
        guard !insert.isEmpty, let brace = payload.firstIndex(of: UInt8(ascii: "{")) else { return payload }
        var text = ""
        for (k, v) in insert { text += "\"\(k)\":\(v)," }
        var out = Array(payload[...brace])
        out.reserveCapacity(payload.count + text.utf8.count)
        out.append(contentsOf: text.utf8)
        out.append(contentsOf: payload[(brace + 1)...])
        return out
    }

    /// Event types whose items carry content parts (and so a `content_index`).
    static func hasContentIndex(_ type: String) -> Bool {
        type.hasPrefix("response.content_part.") || type.hasPrefix("response.output_text.")
            || type.hasPrefix("response.refusal.") || type.hasPrefix("response.reasoning_text.")
    }

    /// The top-level members that matter, or nil when the payload is not one JSON object.
    static func read(_ payload: [UInt8]) -> Facts? {
        payload.withUnsafeBufferPointer { p -> Facts? in
            var s = JSONScanner(p)
            var f = Facts()
            func integer(_ s: inout JSONScanner) throws(JSONSyntaxError) -> Int? {
                guard s.peekKind() == .number else { try s.skipValue(); return nil }
                let n = try s.number()
                return n.integral ? n.value : nil
            }
            do {
                try s.enterObject()
                var first = true
                while try s.nextMember(&first) {
                    switch try s.key() {
                    case "type" where s.peekKind() == .string: f.type = try s.string()
                    case "item_id" where s.peekKind() == .string: f.itemID = try s.string()
                    case "sequence_number": f.sequence = .some(try integer(&s))
                    case "output_index": f.output = .some(try integer(&s))
                    case "content_index": f.content = .some(try integer(&s))
                    case "item" where s.peekKind() == .object:
                        try s.enterObject()
                        var firstInner = true
                        while try s.nextMember(&firstInner) {
                            if try s.key() == "id", s.peekKind() == .string { f.nestedItemID = try s.string() } else { try s.skipValue() }
                        }
                    default: try s.skipValue()
                    }
                }
                try s.expectEnd()
            } catch {
                return nil
            }
            return f
        }
    }
}
