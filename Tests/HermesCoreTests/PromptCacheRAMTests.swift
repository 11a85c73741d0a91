import Foundation
@testable import HermesCore
import HermesTestSupport
import Testing

/// llama-server's host-RAM prompt cache (`--cache-ram`, 8 GiB unless set) in the memory estimate: what a
/// profile runs with, counted as host memory, itemised, and the lever a refusal names.
@Suite("Prompt cache in RAM")
struct PromptCacheRAMTests {
    static let MiB = MemoryEstimate.MiB
    static let GiB = MemoryEstimate.GiB
    static let big = MemoryEstimateTests.big

    static func settings(_ edit: (inout LlamaServerSettings) -> Void) -> LlamaServerSettings {
        var s = LlamaServerSettings()
        edit(&s)
        return s
    }

    static let rpc = [RPCEndpoint(profile: nil, host: "10.0.0.2", port: 50052)]

    /// What each way of setting it gives, in llama-server's order of precedence.
    @Test(arguments: [
        (settings { _ in }, 8192, PromptCacheRAM.Source.serverDefault),
        (settings { $0.cacheRAM = 0 }, 0, .profile),
        (settings { $0.cacheRAM = -1 }, -1, .profile),
        (settings { $0.args = ["--cache-ram", "2048"] }, 2048, .args),
        (settings { $0.args = ["-cram", "100", "-v", "--cache-ram=300"] }, 300, .args),
        (settings { $0.args = ["--cache-ram", "-5"] }, -1, .args),
        (settings { $0.args = ["--cache-ram", "4000000000000"] }, 1 << 30, .args),
        (settings { $0.args = ["--cache-ram", "lots"] }, 8192, .serverDefault),
        (settings { $0.args = ["--cache-ram"] }, 8192, .serverDefault),
        (settings { $0.env = ["LLAMA_ARG_CACHE_RAM": "1024"] }, 1024, .environment),
        (settings { $0.env = ["LLAMA_ARG_CACHE_RAM": "1024"]; $0.args = ["-cram", "64"] }, 64, .args),
        (settings { $0.cacheRAM = 512; $0.args = ["-cram", "64"] }, 512, .profile),
        (settings { $0.rpcEndpoints = rpc }, 0, .rpc),
        (settings { $0.rpcEndpoints = rpc; $0.cacheRAM = 256 }, 256, .profile),
    ])
    func whatAProfileRunsWith(_ s: LlamaServerSettings, mebibytes: Int, source: PromptCacheRAM.Source) {
        #expect(s.effectivePromptCache == PromptCacheRAM(mebibytes: mebibytes, source: source))
    }

    @Test func theDefaultIsCountedAsHostMemoryAndItemised() throws {
        let model = MemoryEstimate(model: Self.big, context: 8192, slots: 4)
        let e = MemoryEstimate(model: Self.big, context: 8192, slots: 4,
                               promptCache: PromptCacheRAM(mebibytes: 8192, source: .serverDefault))
        #expect(model.promptCacheBytes == 0 && !model.breakdown.contains("prompt cache"))
        #expect(e.promptCacheBytes == 8 * Self.GiB)
        #expect(e.modelBytes == model.totalBytes)
        #expect(e.totalBytes == model.totalBytes + 8 * Self.GiB)
        #expect(e.deviceBytes == model.deviceBytes, "the GPU part is the model's")
        #expect(e.hostBytes == model.hostBytes + 8 * Self.GiB, "the cache lives in host memory")

        // An APU: one pool; the cache is its own item in the breakdown.
        let v = e.verdict(available: 24 * Self.GiB, pool: "GTT")
        #expect(!v.fits)
        #expect(v.message == "does not fit: needs \(ByteCount.format(e.totalBytes)) (weights 13.4 GiB + KV cache 6.0 GiB for 8192 ctx "
            + "(4 slots x 2048) + 1.5 GiB overhead + prompt cache in RAM up to 8.0 GiB (cache_ram 8192, llama-server's default)), "
            + "GTT has 24.0 GiB free (\(ByteCount.format(e.totalBytes - 24 * Self.GiB)) short)")
        // The model alone fits: the hint names the cache_ram that would.
        let room = (24 * Self.GiB - model.totalBytes) / Self.MiB
        #expect(v.hint?.hasPrefix("the model itself fits; set cache_ram to at most \(room) (MiB) or 0") == true, "\(v.hint ?? "nil")")
        let smaller = MemoryEstimate(model: Self.big, context: 8192, slots: 4, promptCache: PromptCacheRAM(mebibytes: Int(room), source: .profile))
        #expect(smaller.verdict(available: 24 * Self.GiB, pool: "GTT").fits, "the cache_ram the hint names fits")

        // From a profile: unset counts the default, cache_ram: 0 none.
        let unset = MemoryEstimate(model: Self.big, settings: Self.settings { $0.context = 8192; $0.slots = 4 })
        #expect(unset.totalBytes == e.totalBytes)
        let off = MemoryEstimate(model: Self.big, settings: Self.settings { $0.context = 8192; $0.slots = 4; $0.cacheRAM = 0 })
        #expect(off.totalBytes == model.totalBytes)
        #expect(off.verdict(available: 24 * Self.GiB, pool: "GTT").fits)
    }

    @Test func unlimitedHoldsUpToTheContextsKV() {
        let e = MemoryEstimate(model: Self.big, context: 8192, promptCache: PromptCacheRAM(mebibytes: -1, source: .profile))
        #expect(e.promptCacheBytes == e.kvCacheBytes)
        #expect(e.breakdown.hasSuffix("+ prompt cache in RAM up to 6.0 GiB (cache_ram -1: up to the context's KV)"))
        // The largest context counts the KV twice: it fits, 256 more does not.
        let ctx = try! #require(e.largestContext(fitting: 48 * Self.GiB))
        let at = MemoryEstimate(model: Self.big, context: ctx, promptCache: e.promptCache)
        let over = MemoryEstimate(model: Self.big, context: ctx + 256, promptCache: e.promptCache)
        #expect(at.verdict(available: 48 * Self.GiB, pool: "GTT").fits)
        #expect(!over.verdict(available: 48 * Self.GiB, pool: "GTT").fits)
        #expect(ctx < MemoryEstimate(model: Self.big).largestContext(fitting: 48 * Self.GiB)!)
    }

    @Test func aCappedCacheLeavesLessForTheContext() throws {
        let e = MemoryEstimate(model: Self.big, context: 131072, promptCache: PromptCacheRAM(mebibytes: 8192, source: .serverDefault))
        #expect(e.largestContext(fitting: 48 * Self.GiB) == MemoryEstimate(model: Self.big).largestContext(fitting: 40 * Self.GiB))
        // Neither the context nor the cache alone: the hint names the context and what cache_ram: 0 frees.
        let v = e.verdict(available: 48 * Self.GiB, pool: "GTT")
        #expect(!v.fits)
        #expect(v.hint?.hasSuffix("; cache_ram: 0 frees another 8.0 GiB") == true, "\(v.hint ?? "nil")")
        // Weights and cache do not fit together.
        let tiny = MemoryEstimate(model: Self.big, context: 8192, promptCache: PromptCacheRAM(mebibytes: 8192, source: .profile))
        let t = tiny.verdict(available: 16 * Self.GiB, pool: "system memory")
        #expect(t.hint?.contains("the weights alone (13.4 GiB plus overhead and the prompt cache in RAM) do not fit") == true, "\(t.hint ?? "nil")")
    }

    /// A discrete card: the cache is judged against system memory, not VRAM.
    @Test func aDiscreteCardJudgesTheCacheAgainstSystemMemory() {
        let e = MemoryEstimate(model: Self.big, context: 8192, promptCache: PromptCacheRAM(mebibytes: 8192, source: .serverDefault))
        let v = e.verdict(device: MemoryPoolBudget(name: "VRAM", availableBytes: 24 * Self.GiB),
                          host: MemoryPoolBudget(name: "system memory", availableBytes: 4 * Self.GiB))
        #expect(v.checks.map(\.name) == ["VRAM", "system memory"])
        #expect(v.checks.last?.neededBytes == 8 * Self.GiB)
        #expect(v.checks.map(\.fits) == [true, false])
        #expect(v.hint?.hasPrefix("the model itself fits; set cache_ram to at most 4096 (MiB) or 0") == true, "\(v.hint ?? "nil")")
    }

    @Test func anAdmissionRefusalCarriesTheBreakdown() {
        var s = Admission.Shortfall(profile: "w", pool: "GTT", neededBytes: 9 * Self.GiB, availableBytes: 2 * Self.GiB,
                                    reclaimableBytes: 0, kept: [])
        #expect(s.description == "w needs 9.0 GiB of GTT; 2.0 GiB is free")
        s.breakdown = "weights 1.0 GiB + prompt cache in RAM up to 8.0 GiB (cache_ram 8192)"
        #expect(s.description == "w needs 9.0 GiB of GTT (weights 1.0 GiB + prompt cache in RAM up to 8.0 GiB (cache_ram 8192)); 2.0 GiB is free")
    }

    /// An RPC main runs with `--cache-ram 0` unless the profile says otherwise, once either way.
    @Test func anRPCMainGetsOneCacheRAMFlag() throws {
        var s = LlamaServerSettings()
        s.model = "/m.gguf"
        s.port = 8205
        s.rpcEndpoints = Self.rpc
        s.cacheRAM = 512
        let c = try LlamaServerCommand.build(profile: "main", settings: s, executable: "/bin/llama-server", dialect: RPCConfigTests.dialect)
        let flags = c.arguments.enumerated().filter { $0.element == "--cache-ram" || $0.element == "-cram" }
        #expect(flags.count == 1, "\(c.shellLine)")
        #expect(flags.first.map { c.arguments[$0.offset + 1] } == "512")
    }
}
