/// One saved conversation as the restore decision sees it.
public struct SavedPrefix: Sendable, Equatable {
    public var file: String
    public var keys: [UInt64]
    public var tokens: Int
    /// A restore of it was tried and the server reused nothing: never again.
    public var useless: Bool

    public init(file: String, keys: [UInt64], tokens: Int, useless: Bool = false) {
        self.file = file
        self.keys = keys
        self.tokens = tokens
        self.useless = useless
    }
}

/// Whether a warm-cache request should first have a saved conversation restored, and where. Pure: the
/// request's keys, the front's view of the slots and the saved files in; a decision out.
public enum RestoreChoice {
    public enum Decision: Sendable, Equatable {
        /// Send to this slot as it is (what it holds is as good as anything saved).
        case live(SlotChooser.Choice)
        /// Restore `file` into `slot`, then send the request there.
        case restore(file: String, slot: Int, sharedKeys: Int, tokens: Int)
        /// No idle slot: send without `id_slot`.
        case none
    }

    /// A saved match must cover at least this many more leading keys than the best live slot (one
    /// message), and a real head: a file matching only the empty head is no conversation.
    public static func decide(_ keys: [UInt64], slots: [SlotMemory], saved: [SavedPrefix], minExtraKeys: Int = 1) -> Decision {
        guard let live = SlotChooser.choose(keys, slots: slots) else { return .none }
        var best: SavedPrefix?
        var bestShared = 0
        for s in saved where !s.useless {
            // A file holding more than the request is a later turn of a branch the client left: its
            // leading keys may match, but the extra tokens would be thrown away; still worth it.
            let shared = PrefixKeys.sharedCount(keys, s.keys)
            if shared > bestShared || (shared == bestShared && best.map { s.tokens > $0.tokens } == true) {
                best = s
                bestShared = shared
            }
        }
        guard let best, bestShared >= 2, bestShared >= live.shared + max(1, minExtraKeys),
              let target = SlotChooser.restoreTarget(keys, slots: slots) else { return .live(live) }
        return .restore(file: best.file, slot: target, sharedKeys: bestShared, tokens: best.tokens)
    }
}
