import Foundation

/// What a model's GGUF header says about saving and restoring its prompt cache on llama-server b11434
/// (../shared/FACTS.md, "prompt caches on disk").
public struct WarmCacheModel: Sendable, Equatable {
    /// Attention over a sliding window (gemma 2/3, `{arch}.attention.sliding_window`): a restore is a
    /// silent no-op unless the server keeps the full window (`--swa-full`).
    public var slidingWindow: Bool
    /// Recurrent or hybrid state (`{arch}.ssm.*`, RWKV, short convolutions): a restore cannot work on
    /// this build, so `warm_cache` is refused.
    public var recurrent: Bool

    public init(slidingWindow: Bool, recurrent: Bool) {
        self.slidingWindow = slidingWindow
        self.recurrent = recurrent
    }

    /// Reads the traits from a model's metadata.
    public init(_ info: GGUFModelInfo) {
        let arch = info.architecture
        slidingWindow = info.metadata["\(arch).attention.sliding_window"] != nil || arch.hasPrefix("gemma2") || arch.hasPrefix("gemma3")
        let recurrentPrefixes = ["\(arch).ssm.", "\(arch).wkv.", "\(arch).rwkv.", "\(arch).shortconv."]
        recurrent = info.metadata.keys.contains { k in recurrentPrefixes.contains { k.hasPrefix($0) } }
            || ["mamba", "mamba2", "rwkv6", "rwkv7", "jamba", "lfm2"].contains(arch)
    }

    /// Why `warm_cache` cannot be used with this model, or nil.
    public var refusal: String? {
        recurrent ? "the model has recurrent (SSM/hybrid) state, which llama-server b11434 does not restore from a saved slot" : nil
    }
}

/// What a warm-cache profile adds to its llama-server command line.
public struct WarmCacheLaunch: Sendable, Equatable {
    /// `--slot-save-path`: the profile's own folder under the state directory (0700).
    public var slotSavePath: String
    /// `--swa-full`, for a sliding-window model (its KV then takes the full context, which the memory
    /// estimate already assumes: it counts every layer at the full context).
    public var swaFull: Bool

    public init(slotSavePath: String, swaFull: Bool) {
        self.slotSavePath = slotSavePath
        self.swaFull = swaFull
    }
}

extension RuntimePaths {
    /// Saved prompt caches, one folder per profile.
    public var kvDirectory: URL { stateDirectory.appendingPathComponent("kv") }

    /// `kv/PROFILE/` (llama-server wants the trailing slash: it joins names onto it as text).
    public func kvDirectory(profile: String) -> URL { kvDirectory.appendingPathComponent(profile, isDirectory: true) }
}
