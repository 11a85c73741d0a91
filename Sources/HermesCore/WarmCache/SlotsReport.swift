import Foundation

/// Which slot served the request that just ended, read from llama-server's `GET /slots`: for a request
/// sent without `id_slot` (Anthropic `/v1/messages` on b11434 drops it), llama-server chose the slot
/// itself (prompt similarity, else least recently used), and only `/slots` tells which.
///
/// Each slot that has run a task lists `id_task`, numbered in arrival order; the idle slot with the
/// highest is the one that ran the latest request. Outside input: decoded into typed values, bounded,
/// never trapped on (a wrong shape is nil, and the front's guess stands).
public enum SlotsReport {
    struct Slot: Decodable {
        var id: Int
        var isProcessing: Bool?
        var idTask: Int?
        /// Tokens of the prompt the slot last processed (absent on a slot that has run nothing).
        var promptTokens: Int?
        enum CodingKeys: String, CodingKey {
            case id, isProcessing = "is_processing", idTask = "id_task", promptTokens = "n_prompt_tokens"
        }
    }

    /// Largest `/slots` answer read (a slot's entry is about 1.5 KB; 256 slots fit many times over).
    public static let maxBytes = 4 << 20

    /// The idle slot that ran the latest task; nil when the answer says nothing clear (not a list, no
    /// idle slot has run anything, two share the highest task).
    public static func lastServed(_ data: Data) -> Int? {
        guard data.count <= maxBytes, let slots = try? JSONDecoder().decode([Slot].self, from: data) else { return nil }
        let idle = slots.filter { $0.isProcessing != true && ($0.idTask ?? -1) >= 0 && (0...255).contains($0.id) }
        guard let top = idle.max(by: { ($0.idTask ?? -1) < ($1.idTask ?? -1) }) else { return nil }
        return idle.filter { $0.idTask == top.idTask }.count == 1 ? top.id : nil
    }

    /// The slot a supervisor's one-token generation probe should use: the idle slot holding the fewest
    /// prompt tokens (one that has run nothing holds none), the lowest id among equals. Without it
    /// llama-server places the probe by prompt similarity, and a "ping" shares the chat template's first
    /// tokens with every conversation: it lands in a conversation's slot and throws that conversation's
    /// KV away. `holds`: the prompt tokens that slot holds. Nil when no slot is idle or the answer says
    /// nothing clear.
    public static func probeSlot(_ data: Data) -> (slot: Int, holds: Int)? {
        guard data.count <= maxBytes, let slots = try? JSONDecoder().decode([Slot].self, from: data) else { return nil }
        let idle = slots.filter { $0.isProcessing != true && (0...255).contains($0.id) }
        func held(_ s: Slot) -> Int { s.idTask == nil ? 0 : max(0, s.promptTokens ?? 0) }
        return idle.min { (held($0), $0.id) < (held($1), $1.id) }.map { ($0.id, held($0)) }
    }

    /// Prompt tokens below which a slot holds no conversation worth keeping (a probe's own "ping").
    public static let probeDisplaces = 64
}
