import Foundation
import Yams

/// `speculative:` in a llama-server profile: how the server drafts tokens for the model to verify.
///
/// Why a section and not raw `args`: the flags moved twice in a year (`--draft-max` became
/// `--spec-draft-n-max`, the n-gram sizes split per kind), a build lists the kinds it has in its `--help`,
/// and a draft model is memory the fit check must count. Written to the flags of the build in use by
/// `LlamaServerCommand.build`, which says what a build lacks.
public struct SpeculativeSettings: Sendable, Equatable, Codable {
    /// The kinds a profile may name, and the `--spec-type` each becomes.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// The model's own multi-token-prediction head (`draft-mtp`; models trained with one).
        case mtp
        /// A small draft model of the same family (`draft-simple`, `-md FILE`).
        case draft
        /// Drafts from n-grams of the context: free, and good when the answer repeats what it was shown
        /// (an agent rewriting a file).
        case ngramSimple = "ngram-simple"
        case ngramMod = "ngram-mod"
        case ngramMapK = "ngram-map-k"
        case ngramMapK4v = "ngram-map-k4v"
        case ngramCache = "ngram-cache"

        /// The value of `--spec-type`.
        public var specType: String {
            switch self {
            case .mtp: return "draft-mtp"
            case .draft: return "draft-simple"
            default: return rawValue
            }
        }

        public var isNgram: Bool { rawValue.hasPrefix("ngram-") }
        /// Kinds with an n-gram lookup size and draft size of their own (`--spec-ngram-KIND-size-n/-m`).
        var hasNgramSizes: Bool { self == .ngramSimple || self == .ngramMapK || self == .ngramMapK4v }
    }

    public var kind: Kind?
    /// The draft model (`draft` only).
    public var draftModel: String?
    /// Most tokens drafted per step (`--spec-draft-n-max`; `--spec-ngram-mod-n-max` for ngram-mod).
    public var draftMax: Int?
    /// Fewest tokens worth drafting (`--spec-draft-n-min`; `--spec-ngram-mod-n-min` for ngram-mod).
    public var draftMin: Int?
    /// Draft model layers on the GPU (`-ngld`): a count, `auto` or `all`.
    public var draftGPULayers: String?
    /// The n-gram looked up (`--spec-ngram-KIND-size-n`, `--spec-ngram-mod-n-match`).
    public var ngramSize: Int?
    /// Tokens drafted after a match (`--spec-ngram-KIND-size-m`).
    public var ngramDraft: Int?
    /// Matches needed before drafting (`--spec-ngram-KIND-min-hits`).
    public var minHits: Int?

    public init() {}

    static let keys = ["type", "draft_model", "draft_max", "draft_min", "draft_gpu_layers", "ngram_size", "ngram_draft", "min_hits"]
    /// Token counts in this section.
    public static let counts: ClosedRange<Int> = 1...1024

    /// The arguments for this section, as (flag spellings, value) pairs in order; `problems` for a build
    /// that lacks a flag or the kind.
    public func arguments(dialect: LlamaServerDialect) -> (args: [([String], String)], problems: [String]) {
        guard let kind else { return ([], []) }
        var args: [([String], String)] = []
        var problems: [String] = []
        if let types = dialect.specTypes, !types.contains(kind.specType) {
            problems.append("speculative: this build's --spec-type has no \(kind.specType) (it takes \(types.joined(separator: ", ")))")
        }
        args.append((["--spec-type"], kind.specType))
        if kind == .draft, let m = draftModel { args.append((["--spec-draft-model", "-md", "--model-draft"], m)) }
        if let g = draftGPULayers { args.append((["--spec-draft-ngl", "-ngld", "--gpu-layers-draft"], g)) }
        let mod = kind == .ngramMod
        if let n = draftMax { args.append((mod ? ["--spec-ngram-mod-n-max"] : ["--spec-draft-n-max"], String(n))) }
        if let n = draftMin { args.append((mod ? ["--spec-ngram-mod-n-min"] : ["--spec-draft-n-min"], String(n))) }
        if kind.hasNgramSizes {
            let stem = "--spec-\(kind.rawValue)"
            if let n = ngramSize { args.append((["\(stem)-size-n"], String(n))) }
            if let n = ngramDraft { args.append((["\(stem)-size-m"], String(n))) }
            if let n = minHits { args.append((["\(stem)-min-hits"], String(n))) }
        } else if mod, let n = ngramSize {
            args.append((["--spec-ngram-mod-n-match"], String(n)))
        }
        return (args, problems)
    }
}

extension ConfigLoader {
    /// `speculative:`: the kind, and only the counts that kind reads.
    static func parseSpeculative(_ node: Node, reader: YAMLReader) -> SpeculativeSettings? {
        var s = SpeculativeSettings()
        var typeNode: Node?
        var given: [String: Node] = [:]
        for e in reader.mapping(node, path: "speculative", allowed: SpeculativeSettings.keys) ?? [] where !YAMLReader.isEmpty(e.value) {
            let p = "speculative.\(e.key)"
            given[e.key] = e.value
            switch e.key {
            case "type":
                typeNode = e.value
                guard let t = reader.string(e.value, path: p) else { break }
                if let k = SpeculativeSettings.Kind(rawValue: t) { s.kind = k } else {
                    var message = "expected one of \(SpeculativeSettings.Kind.allCases.map(\.rawValue).joined(separator: ", ")), found '\(t)'"
                    if let near = closestMatch(to: t, in: SpeculativeSettings.Kind.allCases.map(\.rawValue)) { message += " (did you mean '\(near)'?)" }
                    reader.add(.error, e.value, path: p, message)
                }
            case "draft_model": s.draftModel = reader.string(e.value, path: p)
            case "draft_max": s.draftMax = reader.int(e.value, path: p, range: SpeculativeSettings.counts)
            case "draft_min": s.draftMin = reader.int(e.value, path: p, range: 0...SpeculativeSettings.counts.upperBound)
            case "draft_gpu_layers":
                if let g = reader.string(e.value, path: p) {
                    if g == "all" || g == "auto" || (Int(g).map { $0 >= 0 && $0 <= 100_000 } ?? false) { s.draftGPULayers = g } else {
                        reader.add(.error, e.value, path: p, "expected all, auto or a layer count, found '\(g)'")
                    }
                }
            case "ngram_size": s.ngramSize = reader.int(e.value, path: p, range: SpeculativeSettings.counts)
            case "ngram_draft": s.ngramDraft = reader.int(e.value, path: p, range: SpeculativeSettings.counts)
            case "min_hits": s.minHits = reader.int(e.value, path: p, range: SpeculativeSettings.counts)
            default: break
            }
        }
        guard let kind = s.kind else {
            if typeNode == nil { reader.add(.error, node, path: "speculative.type", "name the kind: type: \(SpeculativeSettings.Kind.allCases.map(\.rawValue).joined(separator: " | "))") }
            return nil
        }
        func misplaced(_ key: String, _ why: String) {
            if let n = given[key] { reader.add(.error, n, path: "speculative.\(key)", "\(key) \(why) (type: \(kind.rawValue))") }
        }
        if kind == .draft, s.draftModel == nil {
            reader.add(.error, typeNode, path: "speculative.draft_model", "type: draft needs draft_model: the small model that drafts")
        }
        if kind != .draft { misplaced("draft_model", "is only read with type: draft") }
        if kind.isNgram { misplaced("draft_gpu_layers", "is for a draft model") }
        if !kind.isNgram {
            for key in ["ngram_size", "ngram_draft", "min_hits"] { misplaced(key, "is only read by the n-gram kinds") }
        } else if !kind.hasNgramSizes {
            for key in ["ngram_draft", "min_hits"] { misplaced(key, "is not read by this n-gram kind") }
            if kind == .ngramCache { misplaced("ngram_size", "is not read by ngram-cache") }
        }
        if kind.isNgram && kind != .ngramMod { misplaced("draft_max", "is not read by this n-gram kind (its draft size is ngram_draft)") }
        if kind.isNgram && kind != .ngramMod { misplaced("draft_min", "is not read by this n-gram kind") }
        if let lo = s.draftMin, let hi = s.draftMax, lo > hi, let n = given["draft_min"] {
            reader.add(.error, n, path: "speculative.draft_min", "draft_min \(lo) is above draft_max \(hi)")
        }
        return s
    }
}

extension LlamaServerDialect {
    /// The `--spec-type` values this build lists in its `--help`; nil when it has none (or lists none).
    public var specTypes: [String]? { specTypeList.map { $0.split(separator: ",").map(String.init) } }
}

extension GGUFModelInfo {
    /// This model with a draft model's memory counted in (`speculative: type: draft`): the draft's
    /// weights and its KV cache for the same context (llama-server gives the draft a context of the
    /// target's size), added to the weights, so the fit check and its messages include them. The draft
    /// is placed with the target's layers: an estimate, as the rest of the fit check is.
    public func withDraft(_ draft: GGUFModelInfo, settings: LlamaServerSettings) -> GGUFModelInfo {
        let context = settings.context.flatMap { $0 > 0 ? $0 : nil } ?? max(contextLength, 0)
        let type = settings.cacheType.flatMap(KVCacheType.init(rawValue:)) ?? .f16
        let kv = MemoryEstimate.kvCacheBytes(model: draft, context: context, type: type)
        var combined = self
        combined.weightsBytes = .saturatingSum(.saturatingSum(weightsBytes, draft.weightsBytes), kv)
        return combined
    }
}
