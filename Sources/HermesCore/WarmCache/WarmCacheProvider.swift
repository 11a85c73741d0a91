/// Where the front sends a warm-cache request, and what was restored there first.
public struct WarmPlacement: Sendable, Equatable {
    public var slot: Int
    /// The saved file restored into the slot for this request; nil when the slot was used as it was.
    public var restoredFile: String?
    /// Tokens the restore brought back (llama-server's `n_restored`).
    public var restoredTokens: Int
    /// The request names the slot (`id_slot`). False where the endpoint drops it (Anthropic Messages on
    /// b11434): llama-server then chooses, and which slot it took is read back from `/slots`.
    public var pinned: Bool
    /// What the slot was known to hold before (for a placement that was not pinned: if llama-server
    /// took another slot, this one still holds it).
    public var previousKeys: [UInt64]
    /// The request's prefix keys, for a placement that was not pinned (moved to the slot it ran in).
    public var keys: [UInt64]

    public init(slot: Int, restoredFile: String? = nil, restoredTokens: Int = 0, pinned: Bool = true, previousKeys: [UInt64] = [],
                keys: [UInt64] = []) {
        self.slot = slot
        self.restoredFile = restoredFile
        self.restoredTokens = restoredTokens
        self.pinned = pinned
        self.previousKeys = previousKeys
        self.keys = keys
    }
}

/// The front's view of warm prompt caches (`warm_cache: true` profiles). The daemon's implementation
/// keeps what each slot holds, restores saved conversations and saves slots before a server stops;
/// the front and the supervisor do not import each other, so this protocol sits in the core.
public protocol WarmCacheProvider: Sendable {
    /// Picks the slot for a request with these `PrefixKeys` on the server `status` describes, restoring
    /// a saved conversation into it first when that is worth it. Nil: send without `id_slot`.
    /// `pinned`: the request will carry `id_slot` (see `WarmPlacement.pinned`); `clientSlot`: the one
    /// the client named itself, which the request keeps (a saved conversation may be restored into it).
    func place(profile: String, status: LocalRuntimeStatus, keys: [UInt64], pinned: Bool, clientSlot: Int?) async -> WarmPlacement?
    /// The request sent to `placement` is done; `cacheN` is its answer's `timings.cache_n` when seen.
    func finished(profile: String, placement: WarmPlacement, cacheN: Int?)
}

/// Reads `timings.cache_n` (prompt tokens the server reused) from the tail of an answer, JSON or SSE:
/// the last `"cache_n":` followed by digits. Outside input: bounded, never traps (fuzz target `answer`).
public enum CacheCountScan {
    /// How much of an answer's end is kept for the scan (the last SSE chunk carries the timings).
    public static let tailBytes = 8192

    public static func cacheN(in tail: [UInt8]) -> Int? {
        let needle = Array("\"cache_n\":".utf8)
        guard tail.count >= needle.count else { return nil }
        var start = tail.count - needle.count
        while start >= 0 {
            if tail[start] == needle[0], tail[start..<(start + needle.count)].elementsEqual(needle) {
                var i = start + needle.count
                while i < tail.count, tail[i] == 0x20 { i += 1 }
                var value = 0, digits = 0
                while i < tail.count, tail[i] >= 0x30, tail[i] <= 0x39, digits < 10 {
                    value = value * 10 + Int(tail[i] - 0x30)
                    digits += 1
                    i += 1
                }
                return digits > 0 ? value : nil
            }
            start -= 1
        }
        return nil
    }
}
