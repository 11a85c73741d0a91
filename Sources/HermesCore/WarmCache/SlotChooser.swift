/// What the front knows about one slot of a warm-cache server: what it last sent there.
public struct SlotMemory: Sendable, Equatable {
    public var id: Int
    /// A request the front sent there has not finished.
    public var busy: Bool
    /// The prefix keys of the last request sent there (see `PrefixKeys`); empty when nothing is known.
    public var keys: [UInt64]
    /// When it was last given a request (any monotonic clock, seconds); never-used slots have 0.
    public var lastUsed: Double

    public init(id: Int, busy: Bool = false, keys: [UInt64] = [], lastUsed: Double = 0) {
        self.id = id
        self.busy = busy
        self.keys = keys
        self.lastUsed = lastUsed
    }
}

/// Picks the slot a warm-cache request goes to (`id_slot`). Pure. In order:
/// 1. the idle slot whose conversation the request continues (it holds a prefix of the request), the
///    longest such;
/// 2. an idle slot that holds nothing (so another conversation keeps its slot: agents share a system
///    prompt, and taking a slot for that alone would throw the rest of its conversation away);
/// 3. the idle slot sharing the longest prefix beyond the head (tools, system), else the least
///    recently used idle slot.
public enum SlotChooser {
    public struct Choice: Sendable, Equatable {
        public var slot: Int
        /// Leading prefix keys the slot shares with the request (0: nothing; 1: the head only).
        public var shared: Int
    }

    /// Nil when every slot is busy: the request then goes without `id_slot` and the server queues it.
    public static func choose(_ keys: [UInt64], slots: [SlotMemory]) -> Choice? {
        let idle = slots.filter { !$0.busy }
        let scored = idle.map { (slot: $0, shared: PrefixKeys.sharedCount(keys, $0.keys)) }
        if let c = scored.filter({ !$0.slot.keys.isEmpty && $0.shared == $0.slot.keys.count }).max(by: { $0.shared < $1.shared }) {
            return Choice(slot: c.slot.id, shared: c.shared)
        }
        if let empty = idle.first(where: { $0.keys.isEmpty }) { return Choice(slot: empty.id, shared: 0) }
        // Longest shared prefix (a head alone does not count), then the least recently used.
        let best = scored.min { a, b in
            let sa = a.shared >= 2 ? a.shared : 0, sb = b.shared >= 2 ? b.shared : 0
            return sa != sb ? sa > sb : a.slot.lastUsed < b.slot.lastUsed
        }
        return best.map { Choice(slot: $0.slot.id, shared: $0.shared) }
    }

    /// The idle slot to restore a saved conversation into: the one sharing least with the request
    /// (it loses the least), the least recently used among those.
    public static func restoreTarget(_ keys: [UInt64], slots: [SlotMemory]) -> Int? {
        var best: (id: Int, shared: Int, used: Double)?
        for s in slots where !s.busy {
            let shared = PrefixKeys.sharedCount(keys, s.keys)
            if let b = best, shared > b.shared || (shared == b.shared && s.lastUsed >= b.used) { continue }
            best = (s.id, shared, s.lastUsed)
        }
        return best?.id
    }
}
