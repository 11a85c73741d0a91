import Foundation

/// llama-server's host-RAM prompt cache (`--cache-ram MiB`) as a launch will have it: memory the
/// server may grow to beside its weights and KV cache. On an APU it comes out of the same RAM as GTT.
///
/// llama-server (PR #16391) keeps the KV state of prompts a slot let go, oldest dropped first once the
/// cache holds more than `--cache-ram` MiB; with `-1` it has no byte limit and keeps at most the
/// context's tokens (`n_ctx`), so it can hold one more KV cache's worth. 0 turns it off.
public struct PromptCacheRAM: Sendable, Equatable {
    /// Where the value came from, for the estimate's breakdown.
    public enum Source: String, Sendable, Equatable {
        /// The profile's `cache_ram`.
        case profile
        /// `--cache-ram`/`-cram` in the profile's `args`.
        case args
        /// `LLAMA_ARG_CACHE_RAM` in the profile's `env`.
        case environment
        /// An RPC main runs with `--cache-ram 0` (the prompt cache aborted with RPC on b11434).
        case rpc
        /// Unset: llama-server's own default.
        case serverDefault
    }

    /// MiB as llama-server reads them: any negative is unlimited, 0 is off.
    public var mebibytes: Int
    public var source: Source

    public init(mebibytes: Int, source: Source) {
        self.mebibytes = mebibytes
        self.source = source
    }

    /// `--cache-ram`'s default on b11434 (`llama-server --help`: "default: 8192, -1 - no limit, 0 - disable").
    public static let serverDefaultMiB = 8192
    public static let off = PromptCacheRAM(mebibytes: 0, source: .profile)

    public var isOff: Bool { mebibytes == 0 }
    public var isUnlimited: Bool { mebibytes < 0 }

    /// The bytes the cache may grow to; `kvCacheBytes` (the context's KV) when unlimited.
    public func bytes(kvCacheBytes: UInt64) -> UInt64 {
        if isOff { return 0 }
        if isUnlimited { return kvCacheBytes }
        return .saturatingProduct(UInt64(mebibytes), MemoryEstimate.MiB)
    }

    /// `cache_ram 8192, llama-server's default`, `cache_ram -1: up to the context's KV`, for the breakdown.
    var origin: String {
        let value = isUnlimited ? "-1: up to the context's KV" : String(mebibytes)
        switch source {
        case .profile: return "cache_ram \(value)"
        case .args: return "--cache-ram \(value) in args"
        case .environment: return "LLAMA_ARG_CACHE_RAM \(value)"
        case .rpc: return "off with rpc"
        case .serverDefault: return "cache_ram \(value), llama-server's default"
        }
    }
}

extension LlamaServerSettings {
    /// The prompt cache this profile's server will run with: `cache_ram`, else `--cache-ram`/`-cram` in
    /// `args`, else `LLAMA_ARG_CACHE_RAM` in `env` (a flag wins over it in llama-server), else off for an
    /// RPC main (`start` adds `--cache-ram 0`), else llama-server's default. A value that is not a whole
    /// number is left to llama-server to refuse; the default is counted meanwhile.
    public var effectivePromptCache: PromptCacheRAM {
        if let r = cacheRAM { return PromptCacheRAM(mebibytes: r, source: .profile) }
        if let r = Self.cacheRAMArgument(args ?? []) { return PromptCacheRAM(mebibytes: r, source: .args) }
        if let v = env?["LLAMA_ARG_CACHE_RAM"], let r = Self.mebibytes(v) { return PromptCacheRAM(mebibytes: r, source: .environment) }
        if !(rpcEndpoints ?? []).isEmpty || !(rpc ?? []).isEmpty { return PromptCacheRAM(mebibytes: 0, source: .rpc) }
        return PromptCacheRAM(mebibytes: PromptCacheRAM.serverDefaultMiB, source: .serverDefault)
    }

    /// The last `--cache-ram N`, `-cram N` or `--cache-ram=N` in raw args (llama-server keeps the last).
    static func cacheRAMArgument(_ args: [String]) -> Int? {
        var found: Int?
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--cache-ram" || a == "-cram" {
                if i + 1 < args.count, let v = mebibytes(args[i + 1]) { found = v }
                i += 2
                continue
            }
            if a.hasPrefix("--cache-ram="), let v = mebibytes(String(a.dropFirst("--cache-ram=".count))) { found = v }
            i += 1
        }
        return found
    }

    /// A whole number of MiB, clamped into -1...2^30 (llama-server reads any negative as unlimited).
    static func mebibytes(_ text: String) -> Int? {
        guard let v = Int(text.trimmingCharacters(in: .whitespaces)) else { return nil }
        return v < 0 ? -1 : min(v, 1 << 30)
    }
}
