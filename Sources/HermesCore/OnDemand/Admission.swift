/// Admission and eviction for models loaded on demand: may a model load now, and which idle servers
/// must go first? Pure: a snapshot in, a decision out (docs/operations.md, "Models on demand").
///
/// The memory a load can count on is the pool's live free bytes, but never more than the pool's size
/// minus what our own running servers are estimated to hold. The second bound matters for a server that
/// is still loading (its weights are not allocated yet, so the driver's free figure still shows them
/// free) and on a machine whose counters lag; where the counters are current it is the larger of the two
/// and the live figure decides.
public enum Admission {
    /// A memory pool as the GPU probe (or `/proc/meminfo`) sees it now.
    public struct Pool: Sendable, Equatable {
        /// `GTT`, `VRAM`, `system memory`: servers are compared by this name.
        public var name: String
        /// The pool's size, when known (unknown for system memory read from `MemAvailable` alone).
        public var totalBytes: UInt64?
        /// Free now, by the driver's counters (for GTT: no more than the system has available).
        public var freeBytes: UInt64

        public init(name: String, totalBytes: UInt64?, freeBytes: UInt64) {
            self.name = name
            self.totalBytes = totalBytes
            self.freeBytes = freeBytes
        }
    }

    /// One running (or loading) server.
    public struct Server: Sendable, Equatable {
        public var name: String
        /// The pool its model lives in.
        public var pool: String
        /// Its memory estimate (weights + KV cache + reserve).
        public var heldBytes: UInt64
        /// May be stopped to make room: unpinned and not started by hand (`load: manual`).
        public var evictable: Bool
        /// The front's requests in flight on it; a server with any is never evicted.
        public var inFlight: Int
        /// Seconds (any fixed origin) of its last request, or of its load when it has had none.
        public var lastUse: Double

        public init(name: String, pool: String, heldBytes: UInt64, evictable: Bool, inFlight: Int, lastUse: Double) {
            self.name = name
            self.pool = pool
            self.heldBytes = heldBytes
            self.evictable = evictable
            self.inFlight = inFlight
            self.lastUse = lastUse
        }

        /// Idle: nothing in flight.
        public var idle: Bool { inFlight <= 0 }
    }

    /// Why a model cannot load, with the numbers.
    public struct Shortfall: Sendable, Equatable, CustomStringConvertible {
        public var profile: String
        public var pool: String
        public var neededBytes: UInt64
        /// What the pool can give now without evicting anything.
        public var availableBytes: UInt64
        /// What evicting every idle, evictable server in the pool would add.
        public var reclaimableBytes: UInt64
        /// Servers that hold memory in the pool but may not be evicted (pinned, manual, or busy).
        public var kept: [String]
        /// What the need is made of (`MemoryEstimate.breakdown`), when the caller knows it.
        public var breakdown: String? = nil

        public var description: String {
            var s = "\(profile) needs \(ByteCount.format(neededBytes)) of \(pool)"
                + (breakdown.map { " (\($0))" } ?? "") + "; "
                + "\(ByteCount.format(availableBytes)) is free"
            if reclaimableBytes > 0 { s += " and evicting idle servers would free \(ByteCount.format(reclaimableBytes)) more" }
            if !kept.isEmpty { s += " (kept: \(kept.joined(separator: ", ")))" }
            return s
        }
    }

    public enum Decision: Sendable, Equatable {
        /// It fits now.
        case admit
        /// Stop these servers, in this order (least recently used first), then load.
        case evict([String])
        /// It does not fit even with every idle, evictable server stopped.
        case refuse(Shortfall)
    }

    /// What the pool can give without evicting: `min(free, total - held by our servers in it)`.
    public static func available(pool: Pool, servers: [Server]) -> UInt64 {
        guard let total = pool.totalBytes else { return pool.freeBytes }
        let held = servers.lazy.filter { $0.pool == pool.name }.reduce(UInt64(0)) { sum, s in
            let (v, o) = sum.addingReportingOverflow(s.heldBytes)
            return o ? .max : v
        }
        let unclaimed = total > held ? total - held : 0
        return min(pool.freeBytes, unclaimed)
    }

    /// The decision for loading `profile` (needing `neededBytes` in `pool`) beside `servers`.
    ///
    /// Candidates for eviction are the servers in the same pool that are evictable and idle, least
    /// recently used first (ties by name, so the choice is stable); the first prefix of them that makes
    /// room is evicted. The profile itself is never a candidate.
    public static func decide(profile: String, neededBytes: UInt64, pool: Pool, servers: [Server]) -> Decision {
        let others = servers.filter { $0.name != profile }
        let base = available(pool: pool, servers: others)
        if neededBytes <= base { return .admit }
        let inPool = others.filter { $0.pool == pool.name }
        let candidates = inPool.filter { $0.evictable && $0.idle }
            .sorted { ($0.lastUse, $0.name) < ($1.lastUse, $1.name) }
        var room = base
        var chosen: [String] = []
        for c in candidates {
            chosen.append(c.name)
            let (v, o) = room.addingReportingOverflow(c.heldBytes)
            room = o ? .max : v
            if neededBytes <= room { return .evict(chosen) }
        }
        let kept = inPool.filter { !($0.evictable && $0.idle) }.map(\.name).sorted()
        return .refuse(Shortfall(profile: profile, pool: pool.name, neededBytes: neededBytes, availableBytes: base,
                                 reclaimableBytes: room - base, kept: kept))
    }
}
