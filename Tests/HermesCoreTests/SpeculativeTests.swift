import Foundation
import Testing

@testable import HermesCore

/// `speculative:` in a profile: validated at its line, written to the flags of the build in use, and
/// refused with what a build lacks.
@Suite struct SpeculativeTests {
    let current: LlamaServerDialect

    init() throws {
        current = LlamaServerDialect.parse(help: try fixture("llama-server-b11434-help.txt"), version: "b11434")
    }

    func settings(_ spec: SpeculativeSettings) -> LlamaServerSettings {
        var s = LlamaServerSettings()
        s.model = "/m/coder.gguf"
        s.port = 8090
        s.speculative = spec
        return s
    }

    func args(_ spec: SpeculativeSettings, dialect: LlamaServerDialect? = nil) throws -> [String] {
        let c = try LlamaServerCommand.build(profile: "p", settings: settings(spec), executable: "/bin/llama-server", dialect: dialect ?? current)
        return Array(c.arguments.drop { $0 != "--spec-type" })
    }

    @Test func theBuildListsItsKinds() {
        #expect(current.specTypes?.contains("draft-mtp") == true)
        #expect(current.specTypes?.contains("ngram-mod") == true)
        #expect(current.specTypes?.first == "none")
    }

    @Test func eachKindBecomesThisBuildsFlags() throws {
        var ngram = SpeculativeSettings()
        ngram.kind = .ngramSimple
        ngram.ngramSize = 8
        ngram.ngramDraft = 32
        ngram.minHits = 2
        #expect(try args(ngram) == ["--spec-type", "ngram-simple", "--spec-ngram-simple-size-n", "8",
                                    "--spec-ngram-simple-size-m", "32", "--spec-ngram-simple-min-hits", "2"])
        var mod = SpeculativeSettings()
        mod.kind = .ngramMod
        mod.draftMax = 32
        mod.ngramSize = 16
        #expect(try args(mod) == ["--spec-type", "ngram-mod", "--spec-ngram-mod-n-max", "32", "--spec-ngram-mod-n-match", "16"])
        var draft = SpeculativeSettings()
        draft.kind = .draft
        draft.draftModel = "/m/small.gguf"
        draft.draftMax = 16
        draft.draftMin = 2
        draft.draftGPULayers = "all"
        #expect(try args(draft) == ["--spec-type", "draft-simple", "--spec-draft-model", "/m/small.gguf", "--spec-draft-ngl", "all",
                                    "--spec-draft-n-max", "16", "--spec-draft-n-min", "2"])
        var mtp = SpeculativeSettings()
        mtp.kind = .mtp
        #expect(try args(mtp) == ["--spec-type", "draft-mtp"])
    }

    @Test func aBuildWithoutTheKindOrTheFlagsSaysWhatItLacks() throws {
        let help = try fixture("llama-server-b11434-help.txt").replacingOccurrences(of: "ngram-mod,", with: "")
        let lacking = LlamaServerDialect.parse(help: help, version: "b9999")
        var mod = SpeculativeSettings()
        mod.kind = .ngramMod
        #expect(throws: CommandBuildError.self) { try args(mod, dialect: lacking) }
        do { _ = try args(mod, dialect: lacking) } catch let e as CommandBuildError {
            #expect(e.problems.contains { $0.contains("has no ngram-mod") }, "\(e)")
        }
        let ancient = LlamaServerDialect(flags: ["-m": .required, "--host": .required, "--port": .required])
        var mtp = SpeculativeSettings()
        mtp.kind = .mtp
        do {
            _ = try args(mtp, dialect: ancient)
            Issue.record("a build without --spec-type took a speculative section")
        } catch let e as CommandBuildError {
            #expect(e.problems.contains { $0.contains("no --spec-type flag") }, "\(e)")
        }
    }

    @Test func theSectionIsValidatedAtItsLines() throws {
        let good = try TempRoot(profiles: ["p": localProfile(extra: "speculative:\n  type: ngram-simple\n  ngram_size: 12\n  ngram_draft: 48\n")])
        let (config, diags) = good.validate()
        #expect(diags.filter { $0.severity == .error }.isEmpty, "\(diags)")
        #expect(config?.profiles["p"]?.llamaServer?.speculative?.kind == .ngramSimple)
        #expect(config?.profiles["p"]?.llamaServer?.speculative?.ngramDraft == 48)

        let bad = try TempRoot(profiles: [
            "a": localProfile(port: 8091, extra: "speculative:\n  type: ngram-smiple\n"),
            "b": localProfile(port: 8092, extra: "speculative:\n  type: draft\n  draft_max: 0\n"),
            "c": localProfile(port: 8093, extra: "speculative:\n  type: mtp\n  ngram_size: 4\n  draft_min: 9\n  draft_max: 4\n"),
            "d": localProfile(port: 8094, extra: "speculative:\n  draft_max: 4\n"),
        ])
        let errors = bad.validate().1.filter { $0.severity == .error }
        func has(_ file: String, _ key: String, _ text: String) -> Bool {
            errors.contains { $0.file.hasSuffix("/\(file).yaml") && $0.keyPath == key && $0.message.contains(text) }
        }
        #expect(has("a", "speculative.type", "did you mean 'ngram-simple'"), "\(errors)")
        #expect(has("b", "speculative.draft_max", "out of range") || has("b", "speculative.draft_max", "1"), "\(errors)")
        #expect(has("b", "speculative.draft_model", "needs draft_model"), "\(errors)")
        #expect(has("c", "speculative.ngram_size", "only read by the n-gram kinds"), "\(errors)")
        #expect(has("c", "speculative.draft_min", "above draft_max"), "\(errors)")
        #expect(has("d", "speculative.type", "name the kind"), "\(errors)")
        #expect(errors.allSatisfy { ($0.line ?? 0) > 1 || $0.keyPath == "speculative.type" }, "\(errors)")
    }

    @Test func theFitEstimateCountsADraftModel() {
        let target = MemoryEstimateTests.big
        // A 1-layer draft with 1 KV head of 64 + 64: 256 bytes of f16 KV per token.
        let draft = GGUFModelInfo(path: "/models/small.gguf", architecture: "gemma3", fileSize: 600_000_000, weightsBytes: 500_000_000,
                                  blockCount: 1, contextLength: 32768, embeddingLength: 512, headCount: .uniform(4),
                                  headCountKV: .uniform(1), keyLength: 64, valueLength: 64)
        var s = LlamaServerSettings()
        s.context = 8192
        let alone = MemoryEstimate(model: target, settings: s)
        let withDraft = MemoryEstimate(model: target.withDraft(draft, settings: s), settings: s)
        #expect(withDraft.weightsBytes == alone.weightsBytes + 500_000_000 + 8192 * 256)
        #expect(withDraft.kvCacheBytes == alone.kvCacheBytes)
        #expect(withDraft.totalBytes > alone.totalBytes + 500_000_000)
    }

    @Test func acceptanceComesFromLlamaServersOwnMetrics() throws {
        let text = """
            # TYPE llamacpp:spec_decode_num_draft_tokens_total counter
            llamacpp:spec_decode_num_draft_tokens_total 1219
            llamacpp:spec_decode_num_accepted_tokens_total 1100
            llamacpp:spec_decode_num_accepted_tokens_per_pos_total{position="0"} 500
            """
        let m = try #require(LlamaServerMetrics.parse(text))
        #expect(m.draftTokens == 1219 && m.draftAccepted == 1100)
        #expect(abs((m.draftAcceptance ?? 0) - 1100.0 / 1219.0) < 1e-9)
        #expect(LlamaServerMetrics.parse("llamacpp:spec_decode_num_draft_tokens_total 0\nllamacpp:spec_decode_num_accepted_tokens_total 0")?.draftAcceptance == nil)
        #expect(LlamaServerMetrics.parse("llamacpp:spec_decode_num_draft_tokens_total 2\nllamacpp:spec_decode_num_accepted_tokens_total 9")?.draftAcceptance == 1)
    }
}
