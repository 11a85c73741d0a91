import Foundation

/// How many of a model's layers llama-server puts on the GPU (`-ngl`).
public enum GPULayers: Sendable, Equatable {
    /// Every layer (`-ngl all`, or a number at least the block count).
    case all
    /// The last N repeating layers, as llama.cpp offloads them; 0 runs on the CPU only.
    case count(Int)

    /// Parses a profile's `gpu_layers`: `all`, `auto` or a number. `auto` and unset (llama-server's
    /// default is `auto`) count as all: auto offloads as many layers as fit, and judging the full
    /// offload is what tells a person whether the whole model will be on the GPU.
    public init?(setting: String?) {
        guard let s = setting?.trimmingCharacters(in: .whitespaces).lowercased(), !s.isEmpty else {
            self = .all
            return
        }
        if s == "all" || s == "auto" {
            self = .all
        } else if let n = Int(s) {
            // Older builds took -1 (any negative) for "all".
            self = n < 0 ? .all : .count(n)
        } else {
            return nil
        }
    }
}

/// The memory a llama-server needs for a model: weights + KV cache + a reserve, split between the GPU
/// and host memory by offloaded layers, plus the host-RAM prompt cache it may grow to (`--cache-ram`,
/// host memory; on an APU the same RAM as GTT). Pure: built from a `GGUFModelInfo` and launch settings.
///
/// KV cache bytes = n_ctx_total x sum over layers of (key_length + value_length) x head_count_kv x
/// bytes per element (f16 2, q8_0 34/32, q4_0 18/32). The context is the TOTAL `-c`: with `-np N` every
/// slot gets c/N, but the cache is allocated for all of c, so slots do not multiply it.
///
/// Deliberately conservative, because it decides refusals that `--force` can override:
/// - Sliding-window layers (gemma 2/3, gpt-oss, ...) are counted at full context, although llama.cpp
///   gives them only a window's worth of cells (for gemma-3-270m with `-c 8192 -np 4` llama.cpp allocates
///   84 MiB where this formula says 144 MiB). The window pattern is per architecture and not in the
///   metadata of every model, so it is not modelled.
/// - Models with other cache layouts (DeepSeek's MLA, recurrent state) are estimated with the same
///   formula from their metadata.
public struct MemoryEstimate: Sendable, Equatable {
    /// What is held back beyond weights and KV cache: compute graph buffers, the output buffer, and the
    /// GPU runtime's own context.
    ///
    /// Default: 512 MiB + 5% of (weights + KV cache). The fixed part is Ollama's 457 MiB per-GPU minimum
    /// rounded up (HIP/ROCm context, scratch buffers); the proportional part stands for the compute
    /// graph, which grows with model width and context (llama.cpp's compute buffer is a few hundred MiB
    /// for a 27B model with flash attention). For a model of 13.4 GiB with 24 GiB of KV cache this
    /// reserves 2.4 GiB. Flash attention is assumed (`-fa on`, the norm on these chips); without it the
    /// attention scores buffer grows with context and can exceed this.
    public struct Reserve: Sendable, Equatable {
        public var fixedBytes: UInt64
        public var fraction: Double

        public init(fixedBytes: UInt64, fraction: Double) {
            self.fixedBytes = fixedBytes
            // A fraction above 100% or not a number is no reserve anyone meant; keep the arithmetic finite.
            self.fraction = fraction.isNaN ? 0 : min(max(0, fraction), 1)
        }

        public static let `default` = Reserve(fixedBytes: 512 * MemoryEstimate.MiB, fraction: 0.05)
        /// Weights and KV cache only: for tests and for comparing with llama.cpp's own figures.
        public static let none = Reserve(fixedBytes: 0, fraction: 0)

        func bytes(for modelBytes: UInt64) -> UInt64 {
            .saturatingSum(fixedBytes, UInt64(clampingDouble: (Double(modelBytes) * fraction).rounded(.up)))
        }
    }

    public static let MiB: UInt64 = 1 << 20
    public static let GiB: UInt64 = 1 << 30

    /// `general.name`, else the file name: for messages.
    public let modelName: String
    /// The total context the cache is sized for: `-c`, or the model's `context_length` when `-c` is 0.
    public let context: Int
    /// `-np`; 1 when unset or auto (auto means a unified cache, still sized for the total context).
    public let slots: Int
    public let kvCacheType: KVCacheType
    public let blockCount: Int
    /// Repeating layers on the GPU, 0...blockCount.
    public let gpuLayers: Int
    public let reserve: Reserve
    public let weightsBytes: UInt64
    public let kvCacheBytes: UInt64
    public let overheadBytes: UInt64
    /// llama-server's prompt cache in host RAM (`--cache-ram`) as the launch sets it.
    public let promptCache: PromptCacheRAM
    /// What that cache may grow to: its MiB, or the context's KV when unlimited; 0 when off.
    public let promptCacheBytes: UInt64
    /// The part that lives in GPU memory (GTT or VRAM); 0 on the CPU.
    public let deviceBytes: UInt64
    /// The part that lives in host memory: CPU layers, the prompt cache and, on the CPU, everything.
    public let hostBytes: UInt64

    /// Weights, KV cache and overhead: what the model itself takes, without the prompt cache.
    public var modelBytes: UInt64 { .saturatingSum(.saturatingSum(weightsBytes, kvCacheBytes), overheadBytes) }
    /// Saturates at 2^64 - 1 bytes (a hostile header), which fits nowhere.
    public var totalBytes: UInt64 { .saturatingSum(modelBytes, promptCacheBytes) }
    /// What each slot gets: context / slots.
    public var contextPerSlot: Int { context / max(slots, 1) }
    public var runsOnCPU: Bool { gpuLayers == 0 }
    public var fullyOffloaded: Bool { gpuLayers >= blockCount }

    let kvBytesPerToken: Double

    /// Estimates a launch of `model` with `-c context -np slots -ctk/-ctv kvCacheType -ngl gpuLayers`.
    /// `context` 0 (or negative) means the model's own `context_length`, as llama-server does.
    /// `promptCache` is `--cache-ram` (off unless given; the profile-settings init gives the server's default).
    public init(model: GGUFModelInfo, context: Int = 0, slots: Int = 1, kvCacheType: KVCacheType = .f16,
                gpuLayers: GPULayers = .all, reserve: Reserve = .default, promptCache: PromptCacheRAM = .off) {
        let blocks = max(model.blockCount, 0)
        let ctx = context > 0 ? context : max(model.contextLength, 0)
        let onGPU: Int
        switch gpuLayers {
        case .all: onGPU = blocks
        case .count(let n): onGPU = min(max(n, 0), blocks)
        }
        self.modelName = model.name ?? Self.fileName(model.path)
        self.context = ctx
        self.slots = max(slots, 1)
        self.kvCacheType = kvCacheType
        self.blockCount = blocks
        self.gpuLayers = onGPU
        self.reserve = reserve
        self.weightsBytes = model.weightsBytes
        self.kvBytesPerToken = Double(model.kvElementsPerToken()) * kvCacheType.bytesPerElement
        let kv = Self.kvCacheBytes(model: model, context: ctx, type: kvCacheType)
        self.kvCacheBytes = kv
        let modelBytes = UInt64.saturatingSum(model.weightsBytes, kv)
        self.overheadBytes = reserve.bytes(for: modelBytes)
        let total = UInt64.saturatingSum(modelBytes, overheadBytes)
        self.promptCache = promptCache
        let cache = promptCache.bytes(kvCacheBytes: kv)
        self.promptCacheBytes = cache

        // llama.cpp offloads the LAST n layers, so per-layer KV heads are summed over those.
        let gpuRange = (blocks - onGPU)..<blocks
        let deviceKV = Self.kvCacheBytes(model: model, context: ctx, type: kvCacheType, layers: gpuRange)
        let deviceWeights = blocks == 0 ? 0 : UInt64(clampingDouble: (Double(model.weightsBytes) * Double(onGPU) / Double(blocks)).rounded())
        if onGPU == 0 {
            deviceBytes = 0
        } else {
            // The fixed reserve goes where the compute graph runs; the proportional part follows the layers.
            let deviceModel = UInt64.saturatingSum(deviceWeights, deviceKV)
            let proportional = UInt64(clampingDouble: (Double(deviceModel) * reserve.fraction).rounded(.up))
            deviceBytes = min(.saturatingSum(.saturatingSum(deviceModel, reserve.fixedBytes), proportional), total)
        }
        hostBytes = .saturatingSum(.saturatingDifference(total, deviceBytes), cache)
    }

    /// KV cache bytes for `context` tokens over `layers` (all by default):
    /// context x sum over layers of (key_length + value_length) x head_count_kv x bytes per element.
    public static func kvCacheBytes(model: GGUFModelInfo, context: Int, type: KVCacheType = .f16,
                                    layers: Range<Int>? = nil) -> UInt64 {
        let elements = Double(max(context, 0)) * Double(model.kvElementsPerToken(layers: layers))
        return UInt64(clampingDouble: (elements * type.bytesPerElement).rounded(.up))
    }

    /// `weights 13.4 GiB + KV cache 24.0 GiB for 65536 ctx (4 slots x 16384) + 2.4 GiB overhead`.
    public var breakdown: String {
        var kv = "KV cache \(ByteCount.format(kvCacheBytes)) for \(context) ctx"
        if slots > 1 { kv += " (\(slots) slots x \(contextPerSlot))" }
        if kvCacheType != .f16 { kv += " as \(kvCacheType.rawValue)" }
        let model = "weights \(ByteCount.format(weightsBytes)) + \(kv) + \(ByteCount.format(overheadBytes)) overhead"
        return promptCacheBytes == 0 ? model : model + " + \(promptCacheItem)"
    }

    /// `prompt cache in RAM up to 8.0 GiB (cache_ram 8192, llama-server's default)`.
    public var promptCacheItem: String {
        "prompt cache in RAM up to \(ByteCount.format(promptCacheBytes)) (\(promptCache.origin))"
    }

    /// Where it runs: `on the GPU`, `on the CPU`, `20 of 40 layers on the GPU`.
    public var placement: String {
        if runsOnCPU { return "on the CPU" }
        if fullyOffloaded { return "on the GPU" }
        return "\(gpuLayers) of \(blockCount) layers on the GPU"
    }

    /// The largest total context (a multiple of 256, as llama.cpp pads it) whose estimate fits in
    /// `available` bytes of one pool, with this estimate's KV type, reserve and prompt cache; nil if not
    /// even a 256-token context fits, and the current context for a model without a KV cache. Assumes
    /// device and host share the pool (CPU, or an APU's GTT).
    public func largestContext(fitting available: UInt64, kvCacheType type: KVCacheType? = nil) -> Int? {
        let perToken = type.map { kvBytesPerToken / kvCacheType.bytesPerElement * $0.bytesPerElement } ?? kvBytesPerToken
        // A capped prompt cache is a fixed amount; an unlimited one holds up to the context's KV again.
        let fixedCache = promptCache.isUnlimited ? 0 : promptCacheBytes
        let fixed = UInt64.saturatingSum(reserve.fixedBytes, fixedCache)
        guard available > fixed, perToken.isFinite else { return nil }
        // total = W + k*c + fixed + fraction*(W + k*c) [+ k*c when unlimited]  <=  available
        let budget = Double(available - fixed) - Double(weightsBytes) * (1 + reserve.fraction)
        guard budget > 0 else { return nil }
        guard perToken > 0 else { return context }
        let perTokenTotal = perToken * (1 + reserve.fraction) + (promptCache.isUnlimited ? perToken : 0)
        let tokens = Int(clampingDouble: min(budget / perTokenTotal, Double(Int32.max)))
        let padded = tokens / 256 * 256
        return padded >= 256 ? padded : nil
    }

    static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
