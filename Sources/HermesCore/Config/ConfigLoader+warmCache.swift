import Foundation
import Yams

/// `kv_cache:` in runtime.yaml and a profile's `warm_cache`.
extension ConfigLoader {
    static let kvCacheKeys = ["budget", "max_age", "checkpoint_idle", "save_timeout"]

    static func parseKVCache(_ node: Node, reader: YAMLReader) -> KVCacheSettings {
        var k = KVCacheSettings()
        for e in reader.mapping(node, path: "kv_cache", allowed: kvCacheKeys) ?? [] where !YAMLReader.isEmpty(e.value) {
            let p = "kv_cache.\(e.key)"
            switch e.key {
            case "budget": if let v = reader.bytes(e.value, path: p, range: KVCacheSettings.budgetRange) { k.budgetBytes = v }
            case "max_age": if let v = reader.duration(e.value, path: p, range: KVCacheSettings.maxAgeRange) { k.maxAge = v }
            case "checkpoint_idle": if let v = reader.duration(e.value, path: p, range: 0...3600) { k.checkpointIdle = v }
            case "save_timeout": if let v = reader.duration(e.value, path: p, range: 1...600) { k.saveTimeout = v }
            default: break
            }
        }
        return k
    }

    /// `warm_cache: true` needs a model whose cache a restore brings back; the GGUF says (a missing or
    /// unreadable file is the `model` check's business).
    static func checkWarmCache(_ s: LlamaServerSettings, node: Node?, reader: YAMLReader) {
        guard s.warmCache == true, let model = s.model, FileManager.default.fileExists(atPath: model),
              let info = try? GGUFReader.modelInfo(path: model)
        else { return }
        if let why = WarmCacheModel(info).refusal {
            reader.add(.error, node, path: "warm_cache", "warm_cache cannot work with \(model): \(why)")
        }
    }
}

/// `kv_cache:` in runtime.yaml: saved prompt caches on disk (all warm-cache profiles together).
public struct KVCacheSettings: Sendable, Equatable, Codable {
    /// Bytes all saved caches may take; the least recently used files go first.
    public var budgetBytes: Int = 20 << 30
    /// Seconds after which a saved cache is removed.
    public var maxAge: Double = 7 * 86_400
    /// Seconds a server must have had nothing in flight before its grown slots are checkpointed; 0 = never.
    public var checkpointIdle: Double = 5
    /// Seconds one server's saves may take before a stop gives up on them and goes on.
    public var saveTimeout: Double = 30

    public init() {}

    public static let budgetRange: ClosedRange<Int> = (1 << 20)...(1 << 44)
    public static let maxAgeRange: ClosedRange<Double> = 60...(365 * 86_400)
    /// `cache_ram` in MiB: -1 (unlimited), 0 (off) up to 1 TiB.
    public static let cacheRAMRange: ClosedRange<Int> = -1...(1 << 20)
}

extension RuntimeSettings {
    /// `kv_cache:` with its defaults.
    public var effectiveKVCache: KVCacheSettings { kvCache ?? KVCacheSettings() }
}
