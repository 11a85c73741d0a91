/// Free memory in one pool, as the GPU probe or `/proc/meminfo` reports it.
public struct MemoryPoolBudget: Sendable, Equatable {
    /// What a person calls it: `GTT`, `VRAM`, `system memory`.
    public var name: String
    public var availableBytes: UInt64

    public init(name: String, availableBytes: UInt64) {
        self.name = name
        self.availableBytes = availableBytes
    }
}

/// Whether an estimate fits the memory it will use, with a message carrying the numbers:
/// `does not fit: needs 62.8 GiB (weights 13.4 GiB + KV cache 48.0 GiB for 65536 ctx + 1.4 GiB overhead),
/// GTT has 48.0 GiB free (14.8 GiB short)`.
public struct FitVerdict: Sendable, Equatable {
    /// One pool's need against what it has free.
    public struct PoolCheck: Sendable, Equatable {
        public let name: String
        public let neededBytes: UInt64
        public let availableBytes: UInt64

        public var fits: Bool { neededBytes <= availableBytes }
        public var shortBytes: UInt64 { fits ? 0 : neededBytes - availableBytes }
        public var spareBytes: UInt64 { fits ? availableBytes - neededBytes : 0 }
    }

    public let estimate: MemoryEstimate
    /// One check when device and host share a pool (CPU, APU); two for a discrete GPU with a host part.
    public let checks: [PoolCheck]

    public var fits: Bool { checks.allSatisfy(\.fits) }

    /// The one-line verdict for a person; `hint` adds what would fit.
    public var message: String {
        let verdict = fits ? "fits" : "does not fit"
        let where_ = estimate.runsOnCPU || estimate.fullyOffloaded ? "" : ", \(estimate.placement)"
        if checks.count == 1, let c = checks.first {
            return "\(verdict): needs \(ByteCount.format(c.neededBytes)) (\(estimate.breakdown)\(where_)), "
                + "\(c.name) has \(ByteCount.format(c.availableBytes)) free"
                + (c.fits ? "" : " (\(ByteCount.format(c.shortBytes)) short)")
        }
        let parts = checks.map { c in
            "\(c.name) needs \(ByteCount.format(c.neededBytes)), has \(ByteCount.format(c.availableBytes)) free"
                + (c.fits ? "" : " (\(ByteCount.format(c.shortBytes)) short)")
        }
        return "\(verdict): needs \(ByteCount.format(estimate.totalBytes)) (\(estimate.breakdown)\(where_)): "
            + parts.joined(separator: "; ")
    }

    /// When it does not fit: the context that would, or that the weights alone are too big. Judged
    /// against the first (device, or only) pool; nil when it fits.
    public var hint: String? {
        guard !fits, let pool = checks.first(where: { !$0.fits }) else { return nil }
        let cache = estimate.promptCacheBytes
        // Only a single shared pool has a clean answer; with a split, fewer GPU layers is the lever.
        guard checks.count == 1 else {
            // The host pool holds the prompt cache: when that is what runs short, it is the lever.
            if let host = checks.last, !host.fits, cache > 0 {
                let room = UInt64.saturatingDifference(host.availableBytes, .saturatingDifference(host.neededBytes, cache))
                if host.neededBytes - cache <= host.availableBytes { return Self.cacheHint(room: room) }
            }
            return "offload fewer layers (gpu_layers), lower the context, or use a q8_0/q4_0 KV cache"
                + (cache > 0 ? ", or a smaller cache_ram" : "")
        }
        // The model fits; llama-server's prompt cache in RAM beside it does not.
        if cache > 0, estimate.modelBytes <= pool.availableBytes {
            return Self.cacheHint(room: pool.availableBytes - estimate.modelBytes)
        }
        let cacheNote = cache > 0 ? "; cache_ram: 0 frees another \(ByteCount.format(cache))" : ""
        guard let ctx = estimate.largestContext(fitting: pool.availableBytes) else {
            return "the weights alone (\(ByteCount.format(estimate.weightsBytes)) plus overhead"
                + (cache > 0 ? " and the prompt cache in RAM" : "") + ") do not fit in "
                + "\(ByteCount.format(pool.availableBytes)): use a smaller quantisation or free memory" + cacheNote
        }
        var text = "a context of at most \(ctx) would fit with a \(estimate.kvCacheType.rawValue) KV cache"
        // Name the first cheaper cache type that fits the requested context, else what each would allow.
        let cheaper = [KVCacheType.q8_0, .q4_0].filter { $0.bytesPerElement < estimate.kvCacheType.bytesPerElement }
        let allowed = cheaper.map { ($0, estimate.largestContext(fitting: pool.availableBytes, kvCacheType: $0) ?? 0) }
        if let (type, _) = allowed.first(where: { $0.1 >= estimate.context }) {
            text += "; with cache_type \(type.rawValue) the requested \(estimate.context) fits"
        } else if !allowed.isEmpty {
            text += allowed.map { ", \($0.1) with \($0.0.rawValue)" }.joined()
        }
        return text + cacheNote
    }

    /// `set cache_ram to at most 2048 (MiB) or 0 ...`: what llama-server's prompt cache may have when
    /// the model itself fits and `room` bytes are left beside it.
    static func cacheHint(room: UInt64) -> String {
        let mib = room / MemoryEstimate.MiB
        let at = mib > 0 ? "to at most \(mib) (MiB) or 0" : "to 0"
        return "the model itself fits; set cache_ram \(at) in its profile (llama-server's prompt cache in RAM, 8192 MiB unless set; 0 turns it off)"
    }
}

extension MemoryEstimate {
    /// Judges the whole need against one pool: the CPU case, and an APU, where GPU memory (GTT) and
    /// host memory are the same RAM, so a partial offload draws on one pool too.
    public func verdict(available: UInt64, pool: String) -> FitVerdict {
        FitVerdict(estimate: self, checks: [.init(name: pool, neededBytes: totalBytes, availableBytes: available)])
    }

    /// `verdict(available:pool:)` with a `MemoryPoolBudget`.
    public func verdict(_ pool: MemoryPoolBudget) -> FitVerdict {
        verdict(available: pool.availableBytes, pool: pool.name)
    }

    /// Judges a discrete GPU: the device part against `device`, the host part against `host`. A pool
    /// with nothing to hold is left out (all layers on the GPU: no host check; none: no device check).
    public func verdict(device: MemoryPoolBudget, host: MemoryPoolBudget) -> FitVerdict {
        var checks: [FitVerdict.PoolCheck] = []
        if deviceBytes > 0 { checks.append(.init(name: device.name, neededBytes: deviceBytes, availableBytes: device.availableBytes)) }
        if hostBytes > 0 || checks.isEmpty { checks.append(.init(name: host.name, neededBytes: hostBytes, availableBytes: host.availableBytes)) }
        return FitVerdict(estimate: self, checks: checks)
    }
}
