import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// Replays the committed fuzz corpora (`Fuzz/<target>/corpus/`: seeds and every input that ever
/// crashed a target) through the same entry points the fuzz targets use, so a regression input keeps
/// guarding its fix in the ordinary test run, without the fuzz build.
@Suite struct FuzzCorpusTests {
    static func corpus(_ target: String) throws -> [URL] {
        let dir = TestEnvironment.repositoryRoot.appendingPathComponent("Fuzz/\(target)/corpus")
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test func configCorpus() throws {
        let files = try Self.corpus("config")
        #expect(files.count >= 5)
        var loaded = 0
        var refused: [String] = []
        for url in files {
            let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
            let (config, diagnostics) = ConfigBundle(text: text).validate(environment: ["HOME": "/home/fuzz", "FUZZ_KEY": "k"])
            for d in diagnostics { #expect(d.line != nil && d.column != nil, "\(url.lastPathComponent): \(d)") }
            if let first = diagnostics.first(where: { $0.severity == .error }) {
                refused.append("\(url.lastPathComponent): \(first)")
            } else {
                loaded += 1
                #expect(ConfigLimits.violations(in: config).isEmpty, "\(url.lastPathComponent)")
            }
        }
        // The whole shipped root and the seed using every key load (single files stand for both
        // runtime.yaml and a profile, so they cannot).
        #expect(loaded >= 2, "only \(loaded) of \(files.count) corpus configs load: \(refused)")
    }

    @Test func ggufCorpus() throws {
        let files = try Self.corpus("gguf")
        #expect(files.count >= 3)
        var summarised = 0
        for url in files {
            let bytes = [UInt8](try Data(contentsOf: url))
            guard let file = try? GGUFReader().read(bytes: bytes, path: url.lastPathComponent),
                  let info = try? GGUFModelInfo(file: file) else { continue }
            summarised += 1
            for context in [0, 8192, 1 << 24] {
                let estimate = MemoryEstimate(model: info, context: context, slots: 4, kvCacheType: .q8_0)
                #expect(estimate.totalBytes >= estimate.weightsBytes)
                _ = estimate.verdict(available: 16 << 30, pool: "GTT").hint
            }
        }
        #expect(summarised >= 3, "only \(summarised) of \(files.count) corpus GGUFs summarise")
    }

    @Test func bundleSplitsFilesAndNames() {
        let b = ConfigBundle(text: "front: {}\n#--- a\nkind: openai\n#--- bad name\nx: 1\n#--- a\ny: 2")
        #expect(b.runtime == "front: {}")
        #expect(b.profiles.map(\.name) == ["a", "p2", "p3"])
        #expect(b.profiles[0].text == "kind: openai")
        let single = ConfigBundle(text: "kind: openai")
        #expect(single.runtime == "kind: openai" && single.profiles.map(\.name) == ["p0"])
    }
}
