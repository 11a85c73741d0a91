import Foundation
import HermesCore
import HermesTestSupport
import Testing

@Suite("Memory estimate")
struct MemoryEstimateTests {
    static let MiB = MemoryEstimate.MiB
    static let GiB = MemoryEstimate.GiB

    /// A 26B-like model: 13.4 GiB of weights, 48 layers, 16 KV heads of 256 + 256, so one token of
    /// context costs 48 x 512 x 16 x 2 = 786,432 bytes (768 KiB) of f16 KV cache.
    static let big = GGUFModelInfo(
        path: "/models/big-26b-q4_0.gguf", architecture: "gemma3", name: "Big 26B", fileSize: 14_400_000_000,
        weightsBytes: 14_388_140_441, blockCount: 48, contextLength: 131072, embeddingLength: 5376,
        headCount: .uniform(32), headCountKV: .uniform(16), keyLength: 256, valueLength: 256)

    @Test func bigModelWith8KContextAnd4SlotsFitsIn48GiB() {
        let e = MemoryEstimate(model: Self.big, context: 8192, slots: 4)
        // KV: 8192 x 48 x (256 + 256) x 16 x 2 bytes = 6 GiB exactly; slots do not multiply it.
        #expect(e.kvCacheBytes == 6 * Self.GiB)
        #expect(e.weightsBytes == 14_388_140_441)
        // Reserve: 512 MiB + 5% of (weights + KV) = 536,870,912 + ceil(0.05 x 20,830,591,385).
        #expect(e.overheadBytes == 1_578_400_482)
        #expect(e.totalBytes == 22_408_991_867)
        #expect(e.contextPerSlot == 2048)
        #expect(e.deviceBytes == e.totalBytes)
        #expect(e.hostBytes == 0)

        let v = e.verdict(available: 48 * Self.GiB, pool: "GTT")
        #expect(v.fits)
        #expect(v.hint == nil)
        #expect(v.message == "fits: needs 20.9 GiB (weights 13.4 GiB + KV cache 6.0 GiB for 8192 ctx (4 slots x 2048) + 1.5 GiB overhead), GTT has 48.0 GiB free")
    }

    @Test func bigModelWith64KContextDoesNotFit() throws {
        let e = MemoryEstimate(model: Self.big, context: 65536, slots: 4)
        #expect(e.kvCacheBytes == 48 * Self.GiB)
        #expect(e.totalBytes == 69_761_006_305)
        let v = e.verdict(available: 48 * Self.GiB, pool: "GTT")
        #expect(!v.fits)
        let check = try #require(v.checks.first)
        #expect(check.shortBytes == 69_761_006_305 - 48 * Self.GiB)
        #expect(v.message == "does not fit: needs 65.0 GiB (weights 13.4 GiB + KV cache 48.0 GiB for 65536 ctx (4 slots x 16384) + 3.6 GiB overhead), GTT has 48.0 GiB free (17.0 GiB short)")
        // Largest f16 context: ((48 GiB - 512 MiB) / 1.05 - weights) / 786,432 = 43,469.6 -> 43,264
        // (a multiple of 256); with q8_0 (417,792 bytes a token) 81,825 -> 81,664, which covers 65,536.
        #expect(e.largestContext(fitting: 48 * Self.GiB) == 43264)
        #expect(e.largestContext(fitting: 48 * Self.GiB, kvCacheType: .q8_0) == 81664)
        #expect(v.hint == "a context of at most 43264 would fit with a f16 KV cache; with cache_type q8_0 the requested 65536 fits")
    }

    @Test func q8_0CacheMakes64KFit() {
        let e = MemoryEstimate(model: Self.big, context: 65536, slots: 4, kvCacheType: .q8_0)
        // 48 GiB of f16 elements at 34/32 bytes instead of 2: 48 x 34/64 = 25.5 GiB.
        #expect(e.kvCacheBytes == 27_380_416_512)
        #expect(e.totalBytes == 44_393_855_713)
        let v = e.verdict(available: 48 * Self.GiB, pool: "GTT")
        #expect(v.fits)
        #expect(v.message.contains("KV cache 25.5 GiB for 65536 ctx (4 slots x 16384) as q8_0"))
        let q4 = MemoryEstimate(model: Self.big, context: 65536, kvCacheType: .q4_0)
        #expect(q4.kvCacheBytes == 48 * Self.GiB / 64 * 18)
    }

    @Test func weightsAloneTooBig() {
        let v = MemoryEstimate(model: Self.big, context: 8192).verdict(available: 12 * Self.GiB, pool: "system memory")
        #expect(!v.fits)
        #expect(v.message.hasSuffix("system memory has 12.0 GiB free (8.9 GiB short)"))
        #expect(v.hint?.contains("the weights alone (13.4 GiB plus overhead) do not fit") == true)
    }

    @Test func contextZeroMeansTheModelsOwn() {
        let e = MemoryEstimate(model: Self.big, context: 0)
        #expect(e.context == 131072)
        #expect(e.kvCacheBytes == 96 * Self.GiB)
        #expect(MemoryEstimate(model: Self.big, context: -1).context == 131072)
        // Only q4_0 (221,184 bytes a token: at most 154,368) holds the model's own 131072 in 48 GiB.
        #expect(e.verdict(available: 48 * Self.GiB, pool: "GTT").hint
            == "a context of at most 43264 would fit with a f16 KV cache; with cache_type q4_0 the requested 131072 fits")
        // Nothing cheaper holds 262144: say what each would.
        #expect(MemoryEstimate(model: Self.big, context: 262_144).verdict(available: 48 * Self.GiB, pool: "GTT").hint
            == "a context of at most 43264 would fit with a f16 KV cache, 81664 with q8_0, 154368 with q4_0")
        // Already the cheapest: only the context figure.
        #expect(MemoryEstimate(model: Self.big, context: 262_144, kvCacheType: .q4_0).verdict(available: 48 * Self.GiB, pool: "GTT").hint
            == "a context of at most 154368 would fit with a q4_0 KV cache")
    }

    @Test func partialOffloadSplitsByLayers() {
        let e = MemoryEstimate(model: Self.big, context: 8192, slots: 1, gpuLayers: .count(24))
        // Half the layers: half the weights and KV on the device with the fixed 512 MiB and 5% of its
        // share; the other half and 5% of it on the host.
        let halfWeights: UInt64 = 7_194_070_221  // 14,388,140,441 / 2, rounded
        let halfKV = 3 * Self.GiB
        let deviceReserve = 512 * Self.MiB + UInt64((Double(halfWeights + halfKV) * 0.05).rounded(.up))
        #expect(e.deviceBytes == halfWeights + halfKV + deviceReserve)
        #expect(e.deviceBytes + e.hostBytes == e.totalBytes)
        #expect(e.placement == "24 of 48 layers on the GPU")

        // A discrete GPU: each part against its own pool.
        let v = e.verdict(device: MemoryPoolBudget(name: "VRAM", availableBytes: 8 * Self.GiB),
                          host: MemoryPoolBudget(name: "system memory", availableBytes: 64 * Self.GiB))
        #expect(!v.fits)
        #expect(v.checks.map(\.name) == ["VRAM", "system memory"])
        #expect(v.checks.map(\.fits) == [false, true])
        #expect(v.message.hasPrefix("does not fit: needs 20.9 GiB (weights 13.4 GiB + KV cache 6.0 GiB for 8192 ctx + 1.5 GiB overhead, 24 of 48 layers on the GPU): VRAM needs 10.7 GiB, has 8.0 GiB free (2.7 GiB short); system memory needs 10.2 GiB, has 64.0 GiB free"))
        #expect(v.hint?.contains("offload fewer layers") == true)

        // An APU: device and host are the same RAM, so the whole need is judged against GTT.
        #expect(e.verdict(available: 24 * Self.GiB, pool: "GTT").fits)

        // More layers than the model has is all of them; 0 is the CPU.
        #expect(MemoryEstimate(model: Self.big, gpuLayers: .count(999)).fullyOffloaded)
        let cpu = MemoryEstimate(model: Self.big, context: 8192, gpuLayers: .count(0))
        #expect(cpu.runsOnCPU)
        #expect(cpu.deviceBytes == 0)
        #expect(cpu.hostBytes == cpu.totalBytes)
        let cpuVerdict = cpu.verdict(device: MemoryPoolBudget(name: "VRAM", availableBytes: 0),
                                     host: MemoryPoolBudget(name: "system memory", availableBytes: 32 * Self.GiB))
        #expect(cpuVerdict.checks.map(\.name) == ["system memory"])
        #expect(cpuVerdict.fits)
    }

    @Test func perLayerKVHeadsFollowTheOffloadedLayers() {
        // Layers 0-1 are recurrent (no KV heads), 2-3 have 8: llama.cpp offloads the LAST layers, so with
        // 2 layers on the GPU the device holds all of the KV cache.
        let hybrid = GGUFModelInfo(
            path: "/m/hybrid.gguf", architecture: "hybrid", fileSize: 4 * Self.GiB, weightsBytes: 4 * Self.GiB,
            blockCount: 4, contextLength: 32768, embeddingLength: 4096, headCount: .uniform(32),
            headCountKV: .perLayer([0, 0, 8, 8]), keyLength: 128, valueLength: 128)
        let e = MemoryEstimate(model: hybrid, context: 4096, gpuLayers: .count(2), reserve: .none)
        // 4096 x (128 + 128) x (0 + 0 + 8 + 8) x 2 = 32 MiB.
        #expect(e.kvCacheBytes == 32 * Self.MiB)
        #expect(e.deviceBytes == 2 * Self.GiB + 32 * Self.MiB)
        #expect(e.hostBytes == 2 * Self.GiB)
        #expect(e.totalBytes == 4 * Self.GiB + 32 * Self.MiB)
        #expect(MemoryEstimate.kvCacheBytes(model: hybrid, context: 4096, layers: 0..<2) == 0)
    }

    /// The real test model: the estimate is an upper bound on what llama.cpp allocates.
    @Test func realTestModelEstimate() throws {
        let info = try GGUFReader.modelInfo(path: TestEnvironment.testModel())
        let e = MemoryEstimate(model: info, context: 8192, slots: 4, reserve: .none)
        // 8192 x 18 x (256 + 256) x 1 x 2 = 144 MiB. llama-server b11434 with `-c 8192 -np 4` logs
        // 24 MiB (3 global layers) + 60 MiB (15 sliding-window layers, 1024 cells): 84 MiB. The formula
        // counts sliding-window layers at full context, so it over-estimates, never under.
        #expect(e.kvCacheBytes == 144 * Self.MiB)
        #expect(e.kvCacheBytes >= 84 * Self.MiB)
        #expect(e.weightsBytes == 246_587_904)
        #expect(e.totalBytes == 246_587_904 + 144 * Self.MiB)
        let withReserve = MemoryEstimate(model: info, context: 8192, slots: 4)
        #expect(withReserve.verdict(available: 24 * Self.GiB, pool: "system memory").message
            == "fits: needs 910 MiB (weights 235 MiB + KV cache 144 MiB for 8192 ctx (4 slots x 2048) + 531 MiB overhead), system memory has 24.0 GiB free")
    }

    @Test func fromProfileSettings() {
        var s = LlamaServerSettings()
        s.context = 65536
        s.slots = 4
        s.cacheType = "q8_0"
        s.gpuLayers = "24"
        let e = MemoryEstimate(model: Self.big, settings: s)
        #expect(e.context == 65536)
        #expect(e.slots == 4)
        #expect(e.kvCacheType == .q8_0)
        #expect(e.gpuLayers == 24)

        let defaults = MemoryEstimate(model: Self.big, settings: LlamaServerSettings())
        #expect(defaults.context == 131072)
        #expect(defaults.slots == 1)
        #expect(defaults.kvCacheType == .f16)
        #expect(defaults.fullyOffloaded)
    }

    @Test func gpuLayerSettings() {
        #expect(GPULayers(setting: nil) == .all)
        #expect(GPULayers(setting: "auto") == .all)
        #expect(GPULayers(setting: " ALL ") == .all)
        #expect(GPULayers(setting: "0") == .count(0))
        #expect(GPULayers(setting: "33") == .count(33))
        #expect(GPULayers(setting: "-1") == .all)
        #expect(GPULayers(setting: "most") == nil)
    }

    // MARK: /proc/meminfo

    @Test func memAvailableFromAFile() throws {
        let dir = try TestEnvironment.temporaryDirectory("meminfo")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("meminfo").path
        try """
        MemTotal:       65536000 kB
        MemFree:         1024000 kB
        MemAvailable:   32505856 kB
        Buffers:          123456 kB
        """.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try MemInfo.availableBytes(path: path) == 32_505_856 * 1024)  // 31.0 GiB

        try "MemTotal: 1000 kB\nMemFree: 10 kB\n".write(toFile: path, atomically: true, encoding: .utf8)
        let missingLine = #expect(throws: MemInfo.ReadError.self) { try MemInfo.availableBytes(path: path) }
        #expect(missingLine?.description.contains("no readable MemAvailable line") == true)

        let missingFile = #expect(throws: MemInfo.ReadError.self) { try MemInfo.availableBytes(path: dir.appendingPathComponent("none").path) }
        #expect(missingFile?.description.contains("No such file") == true)

        #expect(MemInfo.availableBytes(parsing: "MemAvailable: lots kB") == nil)
        #expect(MemInfo.availableBytes(parsing: "MemAvailable: 18446744073709551615 kB") == nil)
    }

    #if os(Linux)
    @Test func memAvailableFromProc() throws {
        let bytes = try MemInfo.availableBytes()
        #expect(bytes > 64 * Self.MiB)
    }
    #endif
}
