/// What a memory estimate needs from a model file, read from its GGUF metadata.
///
/// Keys are `{arch}.block_count`, `{arch}.context_length`, `{arch}.embedding_length`,
/// `{arch}.attention.head_count`, `{arch}.attention.head_count_kv` and `{arch}.attention.key_length` /
/// `value_length`, where `{arch}` is `general.architecture` (see `../shared/FACTS.md`, "GGUF").
public struct GGUFModelInfo: Sendable, Equatable {
    /// A hyperparameter that is either one number for every layer or one per layer (some models mix
    /// attention and recurrent layers and give those 0 KV heads).
    public enum PerLayer: Sendable, Equatable {
        case uniform(Int)
        case perLayer([Int])

        /// The value for layer `index` (0-based); a uniform value for every index.
        public func value(layer index: Int) -> Int {
            switch self {
            case .uniform(let v): return v
            case .perLayer(let values): return values.indices.contains(index) ? values[index] : 0
            }
        }

        /// The sum over `layers` (for a uniform value: value x number of layers), saturating at `Int.max`
        /// (negative values count as 0).
        public func sum(layers: Range<Int>) -> Int {
            switch self {
            case .uniform(let v):
                let (p, overflow) = Swift.max(v, 0).multipliedReportingOverflow(by: layers.count)
                return overflow ? .max : p
            case .perLayer(let values):
                var total = 0
                for i in layers.clamped(to: values.indices) {
                    let (t, overflow) = total.addingReportingOverflow(Swift.max(values[i], 0))
                    if overflow { return .max }
                    total = t
                }
                return total
            }
        }

        public var max: Int {
            switch self {
            case .uniform(let v): return v
            case .perLayer(let values): return values.max() ?? 0
            }
        }
    }

    public var path: String
    /// `general.architecture`, e.g. `gemma3`, `llama`, `qwen3moe`.
    public var architecture: String
    /// `general.name`, when the file has one.
    public var name: String?
    public var version: UInt32
    public var fileSize: UInt64
    /// The tensor data: file size minus the aligned start of the data section (`GGUFFile.weightsBytes`).
    public var weightsBytes: UInt64
    public var tensorCount: Int
    public var blockCount: Int
    /// The context the model was trained for; llama-server uses it when `-c 0`.
    public var contextLength: Int
    public var embeddingLength: Int
    /// Query heads; 0 for a model without attention.
    public var headCount: PerLayer
    /// Key/value heads (fewer than `headCount` with grouped-query attention); defaults to `headCount`.
    public var headCountKV: PerLayer
    /// Per-head key size; defaults to embedding_length / head_count (of the first layer, as llama.cpp does).
    public var keyLength: Int
    /// Per-head value size; same default as `keyLength`.
    public var valueLength: Int
    /// The tokenizer's vocabulary size (`tokenizer.ggml.tokens` count), when present.
    public var vocabularySize: Int?
    /// Every metadata key; large arrays are `.skippedArray` (count only).
    public var metadata: [String: GGUFValue]

    public init(path: String, architecture: String, name: String? = nil, version: UInt32 = 3, fileSize: UInt64,
                weightsBytes: UInt64, tensorCount: Int = 0, blockCount: Int, contextLength: Int, embeddingLength: Int,
                headCount: PerLayer, headCountKV: PerLayer, keyLength: Int, valueLength: Int,
                vocabularySize: Int? = nil, metadata: [String: GGUFValue] = [:]) {
        self.path = path
        self.architecture = architecture
        self.name = name
        self.version = version
        self.fileSize = fileSize
        self.weightsBytes = weightsBytes
        self.tensorCount = tensorCount
        self.blockCount = blockCount
        self.contextLength = contextLength
        self.embeddingLength = embeddingLength
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.keyLength = keyLength
        self.valueLength = valueLength
        self.vocabularySize = vocabularySize
        self.metadata = metadata
    }

    /// Summarises a parsed file; throws `.missingMetadata` when a key the estimate needs is absent or
    /// malformed (a projector or vocabulary-only GGUF has no `block_count`, for instance).
    public init(file: GGUFFile) throws(GGUFError) {
        let path = file.path
        guard let arch = file["general.architecture"] else {
            throw .missingMetadata(path: path, key: "general.architecture", detail: "is missing: cannot tell the model's architecture")
        }
        guard let architecture = arch.string, !architecture.isEmpty else {
            throw .missingMetadata(path: path, key: "general.architecture", detail: "should be a non-empty string, found \(arch)")
        }

        // Sanity bounds, far above every real model, that keep the estimate's products inside 64 bits:
        // (key + value length) x heads x layers x context stays below 2^53 elements.
        let maxWidth: Int64 = 1 << 20, maxHeads: Int64 = 1 << 16

        func integer(_ key: String, required: Bool, max limit: Int64 = Int64(Int32.max)) throws(GGUFError) -> Int? {
            guard let value = file[key] else {
                if required { throw .missingMetadata(path: path, key: key, detail: "is missing (architecture \(architecture))") }
                return nil
            }
            guard let n = value.integer, n >= 0 else {
                throw .missingMetadata(path: path, key: key, detail: "should be a non-negative integer, found \(value)")
            }
            guard n <= limit else {
                throw .missingMetadata(path: path, key: key, detail: "is \(n), above the plausible limit of \(limit)")
            }
            return Int(n)
        }

        let blockCount = try integer("\(architecture).block_count", required: true)!
        // Sanity bound before anything is sized by it: the deepest real models have a few hundred layers.
        guard blockCount <= 65536 else {
            throw .missingMetadata(path: path, key: "\(architecture).block_count", detail: "is \(blockCount): not a plausible layer count")
        }

        func perLayer(_ key: String) throws(GGUFError) -> PerLayer? {
            guard let value = file[key] else { return nil }
            if case .skippedArray(_, let count) = value {
                throw .missingMetadata(path: path, key: key, detail: "is an array of \(count) values, expected one per layer (\(blockCount))")
            }
            if let values = value.arrayValues {
                guard values.count == blockCount else {
                    throw .missingMetadata(path: path, key: key, detail: "has \(values.count) values, expected one per layer (\(blockCount))")
                }
                var out: [Int] = []
                for v in values {
                    guard let n = v.integer, n >= 0, n <= maxHeads else {
                        throw .missingMetadata(path: path, key: key, detail: "should hold integers 0...\(maxHeads), found \(v)")
                    }
                    out.append(Int(n))
                }
                return .perLayer(out)
            }
            guard let n = value.integer, n >= 0, n <= maxHeads else {
                throw .missingMetadata(path: path, key: key, detail: "should be an integer 0...\(maxHeads) or one per layer, found \(value)")
            }
            return .uniform(Int(n))
        }

        let embedding = try integer("\(architecture).embedding_length", required: true, max: maxWidth)!
        // Recurrent models (mamba, rwkv) have no attention heads; llama.cpp treats the key as optional too.
        let heads = try perLayer("\(architecture).attention.head_count") ?? .uniform(0)
        let kvHeads = try perLayer("\(architecture).attention.head_count_kv") ?? heads
        let firstHeads = heads.value(layer: 0)
        let defaultHeadSize = firstHeads > 0 ? embedding / firstHeads : 0

        self.init(
            path: path,
            architecture: architecture,
            name: file["general.name"]?.string,
            version: file.version,
            fileSize: file.fileSize,
            weightsBytes: file.weightsBytes,
            tensorCount: file.tensors.count,
            blockCount: blockCount,
            contextLength: try integer("\(architecture).context_length", required: true)!,
            embeddingLength: embedding,
            headCount: heads,
            headCountKV: kvHeads,
            keyLength: try integer("\(architecture).attention.key_length", required: false, max: maxWidth) ?? defaultHeadSize,
            valueLength: try integer("\(architecture).attention.value_length", required: false, max: maxWidth) ?? defaultHeadSize,
            vocabularySize: file["tokenizer.ggml.tokens"]?.arrayCount.map { Int(clamping: $0) },
            metadata: file.metadata
        )
    }

    /// KV cache elements one token of context costs over `layers`:
    /// sum over layers of (key_length + value_length) x head_count_kv.
    /// Saturates at `Int.max` (a file read by `GGUFReader` stays far below it).
    public func kvElementsPerToken(layers: Range<Int>? = nil) -> Int {
        let (width, wide) = max(keyLength, 0).addingReportingOverflow(max(valueLength, 0))
        let (product, over) = width.multipliedReportingOverflow(by: headCountKV.sum(layers: layers ?? 0..<max(blockCount, 0)))
        return wide || over ? .max : product
    }
}
