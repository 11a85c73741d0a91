import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// `warm_cache`, `cache_ram` and `kv_cache:`: parsed, range-checked, refused for a recurrent model, and
/// what they add to the command line.
@Suite struct WarmCacheConfigTests {
    func gguf(_ arch: String, _ extra: [(String, GGUFValue)]) throws -> String {
        let bytes = GGUFBuilder().file(metadata: [
            ("general.architecture", .string(arch)), ("\(arch).block_count", .uint32(2)),
            ("\(arch).context_length", .uint32(4096)), ("\(arch).embedding_length", .uint32(64)),
            ("\(arch).attention.head_count", .uint32(4)),
        ] + extra, tensors: [])
        let url = try TestEnvironment.temporaryDirectory("gguf").appendingPathComponent("\(arch).gguf")
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test func theKeysParse() throws {
        let root = try TempRoot(runtime: "kv_cache:\n  budget: 2GiB\n  max_age: 48h\n  checkpoint_idle: 3s\n", profiles: [
            "a": localProfile(port: 8111, extra: "warm_cache: true\ncache_ram: 0"),
            "b": "extends: a\nport: 8112\n",
        ])
        let (config, diagnostics) = root.validate()
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics)")
        let kv = try #require(config?.runtime.effectiveKVCache)
        #expect(kv.budgetBytes == 2 << 30)
        #expect(kv.maxAge == 2 * 86_400)
        #expect(kv.checkpointIdle == 3)
        #expect(config?.profiles["b"]?.llamaServer?.warmCache == true, "inherited")
        #expect(config?.profiles["b"]?.llamaServer?.cacheRAM == 0)
    }

    @Test func badValuesAreErrorsAtTheirLine() throws {
        let root = try TempRoot(runtime: "kv_cache:\n  budget: 10\n  max_age: 1s\n  budgt: 1\n", profiles: [
            "a": localProfile(port: 8113, extra: "warm_cache: maybe\ncache_ram: -5"),
        ])
        let (_, diagnostics) = root.validate()
        let errors = diagnostics.filter { $0.severity == .error }
        let byKey = Dictionary(grouping: errors, by: { $0.keyPath ?? "" })
        #expect(byKey["kv_cache.budget"]?.first?.line == 2, "\(errors)")
        #expect(byKey["kv_cache.max_age"]?.first?.line == 3)
        #expect(errors.contains { $0.message.contains("did you mean 'budget'") }, "\(errors)")
        #expect(byKey["warm_cache"]?.first?.line == 4)
        #expect(byKey["cache_ram"]?.first?.line == 5)
    }

    @Test func aRecurrentModelIsRefusedWithTheReason() throws {
        let mamba = try gguf("mamba", [("mamba.ssm.conv_kernel", .uint32(4))])
        let root = try TempRoot(profiles: ["a": "kind: llama-server\nmodel: \(mamba)\nport: 8114\nwarm_cache: true\n"])
        let (_, diagnostics) = root.validate()
        let e = try #require(diagnostics.first { $0.keyPath == "warm_cache" })
        #expect(e.severity == .error)
        #expect(e.message.contains("recurrent"), "\(e.message)")
        #expect(e.line == 4)
    }

    @Test func modelTraitsComeFromTheHeader() throws {
        let gemma = try GGUFReader.modelInfo(path: try gguf("gemma3", [("gemma3.attention.sliding_window", .uint32(512))]))
        #expect(WarmCacheModel(gemma) == WarmCacheModel(slidingWindow: true, recurrent: false))
        let llama = try GGUFReader.modelInfo(path: try gguf("llama", []))
        #expect(WarmCacheModel(llama) == WarmCacheModel(slidingWindow: false, recurrent: false))
        let hybrid = try GGUFReader.modelInfo(path: try gguf("qwen3next", [("qwen3next.ssm.state_size", .uint32(16))]))
        #expect(WarmCacheModel(hybrid).refusal != nil)
    }

    @Test func theCommandLineGetsTheSavePathAndSWAFull() throws {
        let dialect = LlamaServerDialect.parse(help: try fixture("llama-server-b11434-help.txt"), version: "b11434")
        var s = LlamaServerSettings()
        s.model = "/m.gguf"
        s.port = 8115
        s.slots = 2
        s.cacheRAM = 512
        let plain = try LlamaServerCommand.build(profile: "a", settings: s, executable: "/bin/llama-server", dialect: dialect)
        #expect(!plain.arguments.contains("--slot-save-path") && !plain.arguments.contains("--swa-full"))
        #expect(plain.arguments.contains("--cache-ram") || plain.arguments.contains("-cram"))
        let warm = try LlamaServerCommand.build(profile: "a", settings: s, executable: "/bin/llama-server", dialect: dialect,
                                                warm: WarmCacheLaunch(slotSavePath: "/state/kv/a/", swaFull: true))
        let i = try #require(warm.arguments.firstIndex(of: "--slot-save-path"))
        #expect(warm.arguments[i + 1] == "/state/kv/a/")
        #expect(warm.arguments.contains("--swa-full"))
        #expect(warm.arguments.contains("--no-cache-idle-slots"))
        let noSWA = try LlamaServerCommand.build(profile: "a", settings: s, executable: "/bin/llama-server", dialect: dialect,
                                                 warm: WarmCacheLaunch(slotSavePath: "/state/kv/a/", swaFull: false))
        #expect(!noSWA.arguments.contains("--swa-full"))
    }
}
