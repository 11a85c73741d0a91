import Foundation
import HermesCore
import HermesTestSupport
import Testing

@Suite("GGUF reader")
struct GGUFReaderTests {
    // MARK: The real test model

    /// The values asserted here were read once from the file (llama-server b11434's metadata dump of
    /// gemma-3-270m-q4_k_m.gguf agrees: `gemma3.block_count u32 = 18`, `context_length = 32768`,
    /// `embedding_length = 640`, `head_count = 4`, `head_count_kv = 1`, `key_length = value_length = 256`,
    /// `tokenizer.ggml.tokens arr[str,262144]`), and the tensor data size by an independent script summing
    /// each tensor's ggml block size.
    @Test func readsTheRealTestModel() throws {
        let path = try TestEnvironment.testModel()
        let clock = ContinuousClock()
        let start = clock.now
        let file = try GGUFReader().read(path: path)
        let elapsed = clock.now - start
        let info = try GGUFModelInfo(file: file)

        #expect(file.version == 3)
        #expect(file.fileSize == 253_113_024)
        #expect(file.metadata.count == 33)
        #expect(file.metadataKeys.first == "general.architecture")
        #expect(file.tensors.count == 236)
        #expect(file.alignment == 32)
        #expect(file.tensorDataOffset == 6_525_120)
        // All tensor sizes are multiples of 32, so there is no padding: both figures agree to the byte.
        #expect(file.weightsBytes == 246_587_904)
        #expect(file.tensorBytes == file.weightsBytes)
        #expect(Double(file.weightsBytes) / Double(file.fileSize) > 0.97)

        #expect(info.architecture == "gemma3")
        #expect(info.name == "Gemma 3 270m")
        #expect(info.blockCount == 18)
        #expect(info.contextLength == 32768)
        #expect(info.embeddingLength == 640)
        #expect(info.headCount == .uniform(4))
        #expect(info.headCountKV == .uniform(1))
        #expect(info.keyLength == 256)
        #expect(info.valueLength == 256)
        #expect(info.vocabularySize == 262_144)
        #expect(info.tensorCount == 236)
        #expect(info.weightsBytes == 246_587_904)

        // Small arrays are kept as values; the vocabulary is skipped with its count kept.
        #expect(file["general.tags"] == .array(.string, [.string("gemma3"), .string("gemma"), .string("google"), .string("text-generation")]))
        #expect(file["tokenizer.ggml.tokens"] == .skippedArray(.string, count: 262_144))
        #expect(file["tokenizer.ggml.scores"] == .skippedArray(.float32, count: 262_144))
        #expect(file["gemma3.attention.sliding_window"]?.integer == 512)
        #expect(file["tokenizer.ggml.add_bos_token"] == .bool(true))

        let last = try #require(file.tensors.max { $0.offset < $1.offset })
        #expect(last.name == "blk.17.post_ffw_norm.weight")
        #expect(last.dimensions == [640])
        #expect(last.type == .f32)
        #expect(last.offset + (last.bytes ?? 0) == file.weightsBytes)
        #expect(file.tensors.contains { $0.type == .q4_K })
        // Only the header is read (~6.5 MB before the tensor data); reading a 13-40 GB model costs the same.
        #expect(file.tensorDataOffset < 8_000_000)
        print("reading the test model's header took \(elapsed)")
    }

    /// The real model cut short after its header, as an interrupted download leaves it; and the same
    /// header in a sparse 20 GB file, which reads as fast as the small one.
    @Test func realModelCutShortAndStretched() throws {
        let source = try #require(FileHandle(forReadingAtPath: try TestEnvironment.testModel()))
        let head = try #require(try source.read(upToCount: 7_000_000))
        try source.close()
        let dir = try TestEnvironment.temporaryDirectory("gguf-real")
        defer { try? FileManager.default.removeItem(at: dir) }

        let cut = dir.appendingPathComponent("cut.gguf").path
        try head.write(to: URL(fileURLWithPath: cut))
        let error = #expect(throws: GGUFError.self) { try GGUFReader().read(path: cut) }
        #expect(error?.message.hasPrefix("truncated file: it ends at byte 7000000 while reading the data of tensor") == true, "\(String(describing: error))")

        let big = dir.appendingPathComponent("big.gguf").path
        try head.write(to: URL(fileURLWithPath: big))
        let handle = try #require(FileHandle(forWritingAtPath: big))
        try handle.truncate(atOffset: 20_000_000_000)
        try handle.close()
        let file = try GGUFReader().read(path: big)
        #expect(file.fileSize == 20_000_000_000)
        #expect(file.weightsBytes == 20_000_000_000 - 6_525_120)
        #expect(try GGUFModelInfo(file: file).blockCount == 18)
    }

    // MARK: Synthetic files, every version and value type

    @Test(arguments: [UInt32(3), 2, 1])
    func roundTripsEveryValueType(version: UInt32) throws {
        let values: [(String, GGUFValue)] = [
            ("general.architecture", .string("llama")),
            ("t.u8", .uint8(200)), ("t.i8", .int8(-5)), ("t.u16", .uint16(65000)), ("t.i16", .int16(-300)),
            ("t.u32", .uint32(4_000_000_000)), ("t.i32", .int32(-70000)), ("t.f32", .float32(1.5)),
            ("t.bool", .bool(true)), ("t.string", .string("héllo ✓")), ("t.u64", .uint64(1 << 40)),
            ("t.i64", .int64(-(1 << 40))), ("t.f64", .float64(-2.25)),
            ("t.empty", .array(.uint32, [])),
            ("t.floats", .array(.float32, [.float32(0.5), .float32(-1)])),
            ("t.strings", .array(.string, [.string("a"), .string(""), .string("ccc")])),
            ("t.nested", .array(.array, [
                .array(.int32, [.int32(1), .int32(2)]),
                .array(.string, [.string("x")]),
                .array(.array, [.array(.uint8, [.uint8(7)])]),
            ])),
        ]
        let bytes = GGUFBuilder(version: version).file(metadata: values + llamaKeys(blocks: 2), tensors: [])
        let file = try read(bytes)
        #expect(file.version == version)
        for (key, value) in values {
            #expect(file[key] == value, "\(key) in version \(version)")
        }
        #expect(file.metadataKeys == (values + llamaKeys(blocks: 2)).map(\.0))
        #expect(file.tensors.isEmpty)
        #expect(file.weightsBytes == 0)
    }

    @Test(arguments: [UInt32(3), 2, 1])
    func readsTensorInfosAndAlignment(version: UInt32) throws {
        let tensors = [
            GGUFBuilder.Tensor(name: "token_embd.weight", dims: [64, 10], type: .q8_0),  // 20 blocks x 34 = 680 bytes
            GGUFBuilder.Tensor(name: "blk.0.attn_norm.weight", dims: [64], type: .f32),  // 256 bytes
            GGUFBuilder.Tensor(name: "output.weight", dims: [256, 2], type: .q4_K),  // 2 blocks x 144 = 288 bytes
        ]
        let meta = llamaKeys(blocks: 1) + [("general.alignment", .uint32(64))]
        let bytes = GGUFBuilder(version: version).file(metadata: meta, tensors: tensors, alignment: 64)
        let file = try read(bytes)
        #expect(file.alignment == 64)
        #expect(file.tensorDataOffset % 64 == 0)
        #expect(file.tensors.map(\.name) == tensors.map(\.name))
        #expect(file.tensors.map(\.dimensions) == [[64, 10], [64], [256, 2]])
        #expect(file.tensors.map(\.type) == [.q8_0, .f32, .q4_K])
        #expect(file.tensors.map(\.bytes) == [680, 256, 288])
        // Offsets are padded to 64: 0, 704, 960; the data section ends at 960 + 288 = 1248.
        #expect(file.tensors.map(\.offset) == [0, 704, 960])
        #expect(file.weightsBytes == 1248)
        #expect(file.tensorBytes == 680 + 256 + 288)
        #expect(file.fileSize == file.tensorDataOffset + 1248)
    }

    @Test func perLayerHeadCountsAndDefaults() throws {
        // A hybrid model: layers 1 and 3 are recurrent and have no KV heads; no key/value_length keys,
        // so both default to embedding_length / head_count = 4096 / 32 = 128.
        let meta: [(String, GGUFValue)] = [
            ("general.architecture", .string("hybrid")),
            ("hybrid.block_count", .uint32(4)),
            ("hybrid.context_length", .uint64(131072)),
            ("hybrid.embedding_length", .uint32(4096)),
            ("hybrid.attention.head_count", .array(.uint32, Array(repeating: .uint32(32), count: 4))),
            ("hybrid.attention.head_count_kv", .array(.int32, [.int32(8), .int32(0), .int32(8), .int32(0)])),
        ]
        let info = try GGUFModelInfo(file: read(GGUFBuilder().file(metadata: meta, tensors: [])))
        #expect(info.headCount == .perLayer([32, 32, 32, 32]))
        #expect(info.headCountKV == .perLayer([8, 0, 8, 0]))
        #expect(info.headCountKV.max == 8)
        #expect(info.keyLength == 128)
        #expect(info.valueLength == 128)
        #expect(info.contextLength == 131072)
        #expect(info.name == nil)
        #expect(info.vocabularySize == nil)
        // (128 + 128) x (8 + 0 + 8 + 0) per token; the last two layers hold 8 of those heads.
        #expect(info.kvElementsPerToken() == 256 * 16)
        #expect(info.kvElementsPerToken(layers: 2..<4) == 256 * 8)
    }

    @Test func headCountKVDefaultsToHeadCount() throws {
        let meta: [(String, GGUFValue)] = [
            ("general.architecture", .string("gpt2")), ("gpt2.block_count", .uint32(12)),
            ("gpt2.context_length", .uint32(1024)), ("gpt2.embedding_length", .uint32(768)),
            ("gpt2.attention.head_count", .uint32(12)),
        ]
        let info = try GGUFModelInfo(file: read(GGUFBuilder().file(metadata: meta, tensors: [])))
        #expect(info.headCountKV == .uniform(12))
        #expect(info.keyLength == 64)
    }

    @Test func largeArraysAreSkippedWithTheirCount() throws {
        let vocab = (0..<5000).map { GGUFValue.string("token\($0)") }
        let meta: [(String, GGUFValue)] = [("general.architecture", .string("llama"))] + llamaKeys(blocks: 2) + [
            ("tokenizer.ggml.tokens", .array(.string, vocab)),
            ("tokenizer.ggml.scores", .array(.float32, Array(repeating: .float32(0), count: 3000))),
            ("tokenizer.ggml.merges", .array(.array, Array(repeating: .array(.string, [.string("a"), .string("b")]), count: 2000))),
            ("after", .string("still read")),
        ]
        let file = try read(GGUFBuilder().file(metadata: meta, tensors: []))
        #expect(file["tokenizer.ggml.tokens"] == .skippedArray(.string, count: 5000))
        #expect(file["tokenizer.ggml.scores"] == .skippedArray(.float32, count: 3000))
        #expect(file["tokenizer.ggml.merges"] == .skippedArray(.array, count: 2000))
        #expect(file["after"] == .string("still read"))
        #expect(try GGUFModelInfo(file: file).vocabularySize == 5000)

        // A tighter limit skips even small arrays; the reader lands on the next key all the same.
        var limits = GGUFReader.Limits()
        limits.keptArrayCount = 1
        let tight = try read(GGUFBuilder().file(metadata: [("a", .array(.array, [.array(.string, [.string("x"), .string("y")])])), ("b", .uint8(1))], tensors: []), limits: limits)
        #expect(tight["a"] == .array(.array, [.skippedArray(.string, count: 2)]))
        #expect(tight["b"] == .uint8(1))
    }

    // MARK: Broken files

    @Test func wrongMagicIsNotGGUF() throws {
        let html = Array("<!DOCTYPE html><html>404</html>".utf8)
        let error = try readError(html)
        guard case .notGGUF(_, let first) = error else { Issue.record("expected notGGUF, got \(error)"); return }
        #expect(first == Array(html.prefix(8)))
        #expect(error.message.hasPrefix("not a GGUF file: starts with 3c 21 44 4f 43 54 59 50 (\"<!DOCTYP\")"))

        let empty = try readError([])
        #expect(empty == .notGGUF(path: empty.path, firstBytes: []))
        #expect(empty.message.contains("the file is empty"))

        let binary = try readError([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0])  // an ELF binary
        #expect(binary.message.contains("7f 45 4c 46"))
    }

    @Test func unsupportedVersions() throws {
        for version: UInt32 in [0, 4, 0x0300_0000] {
            var b = GGUFBuilder(version: 3).file(metadata: llamaKeys(blocks: 1), tensors: [])
            withUnsafeBytes(of: version.littleEndian) { b.replaceSubrange(4..<8, with: $0) }
            let error = try readError(b)
            #expect(error == .unsupportedVersion(path: error.path, version: version))
            #expect(error.message.contains("unsupported GGUF version \(version)"))
        }
        let bigEndian = try readError(Array("GGUF".utf8) + [0, 0, 0, 3] + Array(repeating: 0, count: 16))
        #expect(bigEndian.message.contains("big-endian"))
    }

    /// Every prefix of a valid file is a truncated file: each must throw, none may crash.
    @Test(arguments: [UInt32(3), 1])
    func everyTruncationThrows(version: UInt32) throws {
        // A low keep limit makes the 40-token vocabulary a skipped array, so both the keeping and the
        // skipping paths are cut everywhere while the file stays small enough to cut at every byte.
        var limits = GGUFReader.Limits()
        limits.keptArrayCount = 16
        let meta: [(String, GGUFValue)] = llamaKeys(blocks: 2) + [
            ("t.nested", .array(.array, [.array(.string, [.string("ab"), .string("cd")])])),
            ("tokenizer.ggml.tokens", .array(.string, (0..<40).map { .string("t\($0)") })),
            ("t.f64", .float64(1)),
        ]
        let tensors = [GGUFBuilder.Tensor(name: "w", dims: [32, 2], type: .q8_0), GGUFBuilder.Tensor(name: "n", dims: [8], type: .f32)]
        let full = GGUFBuilder(version: version).file(metadata: meta, tensors: tensors)
        #expect(try read(full, limits: limits)["tokenizer.ggml.tokens"] == .skippedArray(.string, count: 40))
        let dir = try TestEnvironment.temporaryDirectory("gguf-trunc")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("cut.gguf").path
        var kinds: [String: Int] = [:]
        for cut in 0..<full.count {
            try Data(full.prefix(cut)).write(to: URL(fileURLWithPath: path))
            do {
                _ = try GGUFReader(limits: limits).read(path: path)
                Issue.record("a file cut at \(cut) of \(full.count) bytes was read without error")
            } catch {
                switch error {
                case .truncated(_, let offset, _, let size):
                    #expect(size == UInt64(cut))
                    #expect(offset <= size)
                    kinds["truncated", default: 0] += 1
                case .absurdLength(_, _, _, let length, let limit):
                    // Cut inside the vocabulary: its 40 elements cannot fit in a file this short, and
                    // the reader cannot tell a cut file from a corrupt count (the message says both).
                    #expect(length > limit)
                    kinds["absurd", default: 0] += 1
                case .notGGUF:
                    #expect(cut == 0, "only the empty file lacks the magic")
                    kinds["notGGUF", default: 0] += 1
                default:
                    Issue.record("cut at \(cut): unexpected \(error)")
                }
            }
        }
        #expect(kinds["notGGUF"] == 1)
        #expect((kinds["truncated"] ?? 0) + (kinds["absurd"] ?? 0) == full.count - 1)
        #expect((kinds["truncated"] ?? 0) > 0 && (kinds["absurd"] ?? 0) > 0, "\(kinds)")
    }

    @Test func truncationMessagesSayWhatWasBeingRead() throws {
        let meta: [(String, GGUFValue)] = [("general.architecture", .string("llama")), ("tokenizer.ggml.tokens", .array(.string, (0..<2000).map { .string("tok\($0)") }))]
        let full = GGUFBuilder().file(metadata: meta, tensors: [GGUFBuilder.Tensor(name: "big", dims: [4096], type: .f32)])

        // Inside the header counts.
        let header = try readError(Array(full.prefix(12)))
        #expect(header.message.contains("while reading the tensor count at offset 8"))
        // Inside the first key (8 bytes of length, then "general.architecture").
        let key = try readError(Array(full.prefix(24 + 8 + 5)))
        #expect(key.message.contains("the key of metadata entry 0"))
        // Inside the skipped vocabulary.
        let vocab = try readError(Array(full.prefix(full.count / 2)))
        #expect(vocab.message.contains("tokenizer.ggml.tokens"), "\(vocab)")
        // A whole header but tensor data cut short, as a partial download leaves it.
        let data = try readError(Array(full.prefix(full.count - 100)))
        guard case .truncated(_, _, let reading, _) = data else { Issue.record("expected truncated, got \(data)"); return }
        #expect(reading.contains("the data of tensor big"))
        #expect(data.message.contains("truncated file: it ends at byte \(full.count - 100)"))
    }

    @Test func absurdLengthsAreRefusedBeforeAllocating() throws {
        var b = GGUFBuilder()
        // A string value claiming 2^60 bytes.
        b.header(tensors: 0, kvs: 1)
        b.string("k")
        b.u32(GGUFValueType.string.rawValue)
        b.u64(1 << 60)
        b.bytes += Array(repeating: 0x41, count: 64)
        let string = try readError(b.bytes)
        guard case .absurdLength(_, let offset, let what, let length, let limit) = string else { Issue.record("got \(string)"); return }
        #expect(offset == 24 + 9 + 4)
        #expect(what.contains("the length of k"))
        #expect(length == 1 << 60)
        #expect(limit == UInt64(b.bytes.count))

        // An array of u64 claiming 2^40 elements in a file of a few hundred bytes.
        b = GGUFBuilder()
        b.header(tensors: 0, kvs: 1)
        b.string("arr")
        b.u32(GGUFValueType.array.rawValue)
        b.u32(GGUFValueType.uint64.rawValue)
        b.u64(1 << 40)
        b.bytes += Array(repeating: 0, count: 128)
        let array = try readError(b.bytes)
        #expect(array.message.contains("the element count of arr"), "\(array)")
        if case .absurdLength = array {} else { Issue.record("expected absurdLength, got \(array)") }

        // Header counts no file of this size can hold.
        b = GGUFBuilder()
        b.header(tensors: 1 << 50, kvs: 0)
        let tensors = try readError(b.bytes + Array(repeating: 0, count: 64))
        #expect(tensors.message.contains("the tensor count"))
        b = GGUFBuilder()
        b.header(tensors: 0, kvs: UInt64.max)
        let kvs = try readError(b.bytes + Array(repeating: 0, count: 64))
        #expect(kvs.message.contains("the metadata count"))

        // A string longer than the sanity limit, though the file holds it.
        var limits = GGUFReader.Limits()
        limits.stringBytes = 10
        let long = try readError(GGUFBuilder().file(metadata: [("s", .string(String(repeating: "x", count: 11)))], tensors: []), limits: limits)
        #expect(long == .absurdLength(path: long.path, offset: 24 + 9 + 4, what: "the length of s", length: 11, limit: 10))
    }

    @Test func invalidValuesAreRefused() throws {
        // Unknown value type 13.
        var b = GGUFBuilder()
        b.header(tensors: 0, kvs: 1)
        b.string("k")
        b.u32(13)
        b.bytes += [0, 0, 0, 0]
        let type = try readError(b.bytes)
        #expect(type.message.contains("unknown value type 13"))

        // Arrays nested 100 deep.
        b = GGUFBuilder()
        b.header(tensors: 0, kvs: 1)
        b.string("deep")
        b.u32(GGUFValueType.array.rawValue)
        for _ in 0..<100 {
            b.u32(GGUFValueType.array.rawValue)
            b.u64(1)
        }
        b.u32(GGUFValueType.uint8.rawValue)
        b.u64(0)
        let deep = try readError(b.bytes)
        #expect(deep.message.contains("nested more than 8 deep"))

        // Alignment that is not a power of two, and one of the wrong type.
        let align = try readError(GGUFBuilder().file(metadata: [("general.alignment", .uint32(48))], tensors: []))
        #expect(align.message.contains("general.alignment"))
        let alignType = try readError(GGUFBuilder().file(metadata: [("general.alignment", .uint64(32))], tensors: []))
        #expect(alignType.message.contains("expected a u32 power of two"))

        // A repeated key.
        let dup = try readError(GGUFBuilder().file(metadata: [("a", .uint8(1)), ("a", .uint8(2))], tensors: []))
        #expect(dup.message.contains("the key appears twice"))

        // Five tensor dimensions.
        b = GGUFBuilder()
        b.header(tensors: 1, kvs: 0)
        b.string("t")
        b.u32(5)
        for _ in 0..<5 { b.u64(1) }
        b.u32(0)
        b.u64(0)
        let dims = try readError(b.bytes + Array(repeating: 0, count: 64))
        #expect(dims.message.contains("5 dimensions (at most 4)"))

        // A q4_K row that is not a whole number of 256-element blocks.
        let row = try readError(GGUFBuilder().file(metadata: [], tensors: [GGUFBuilder.Tensor(name: "odd", dims: [100], type: .q4_K)]))
        #expect(row.message.contains("not a multiple of the Q4_K block size 256"))
    }

    @Test func missingPathsAndMissingKeys() throws {
        let missing = #expect(throws: GGUFError.self) { try GGUFReader().read(path: "/nonexistent/model.gguf") }
        #expect(missing?.message.contains("No such file") == true)
        let dir = try TestEnvironment.temporaryDirectory("gguf-dir")
        defer { try? FileManager.default.removeItem(at: dir) }
        let directory = #expect(throws: GGUFError.self) { try GGUFReader().read(path: dir.path) }
        #expect(directory?.message.contains("directory") == true)

        // A projector-like file: an architecture but no block_count.
        let file = try read(GGUFBuilder().file(metadata: [("general.architecture", .string("clip"))], tensors: []))
        let error = #expect(throws: GGUFError.self) { try GGUFModelInfo(file: file) }
        #expect(error == .missingMetadata(path: file.path, key: "clip.block_count", detail: "is missing (architecture clip)"))
        let noArch = try read(GGUFBuilder().file(metadata: [], tensors: []))
        #expect(throws: GGUFError.missingMetadata(path: noArch.path, key: "general.architecture",
                                                  detail: "is missing: cannot tell the model's architecture")) {
            try GGUFModelInfo(file: noArch)
        }
        let wrongType = try read(GGUFBuilder().file(metadata: [("general.architecture", .string("llama")), ("llama.block_count", .string("32"))], tensors: []))
        let wrong = #expect(throws: GGUFError.self) { try GGUFModelInfo(file: wrongType) }
        #expect(wrong?.message.contains("should be a non-negative integer, found str \"32\"") == true)
        let badLayers = try read(GGUFBuilder().file(metadata: [("general.architecture", .string("llama"))] + llamaKeys(blocks: 3) + [("llama.attention.head_count_kv", .array(.uint32, [.uint32(8)]))], tensors: []))
        let layers = #expect(throws: GGUFError.self) { try GGUFModelInfo(file: badLayers) }
        #expect(layers?.message.contains("has 1 values, expected one per layer (3)") == true)
    }

    /// Random bytes after a plausible header: the reader must answer (a file or an error), never crash
    /// or allocate what the garbage claims.
    @Test func randomGarbageNeverCrashes() throws {
        var rng = SplitMix(state: 0x6775_6766)
        let dir = try TestEnvironment.temporaryDirectory("gguf-fuzz")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("garbage.gguf").path
        var errors = 0
        for round in 0..<300 {
            var b = GGUFBuilder(version: UInt32(1 + round % 3))
            b.header(tensors: rng.next() % 4, kvs: rng.next() % 8)
            let count = Int(rng.next() % 512)
            b.bytes += (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            try Data(b.bytes).write(to: URL(fileURLWithPath: path))
            do {
                let file = try GGUFReader().read(path: path)
                #expect(file.fileSize == UInt64(b.bytes.count))
            } catch {
                #expect(!error.message.isEmpty)
                errors += 1
            }
        }
        #expect(errors > 250, "random bytes should almost never parse (\(errors) errors of 300)")
    }

    // MARK: Helpers

    func llamaKeys(blocks: Int) -> [(String, GGUFValue)] {
        [("llama.block_count", .uint32(UInt32(blocks))), ("llama.context_length", .uint32(4096)),
         ("llama.embedding_length", .uint32(64)), ("llama.attention.head_count", .uint32(4))]
    }

    func read(_ bytes: [UInt8], limits: GGUFReader.Limits = .init()) throws -> GGUFFile {
        let dir = try TestEnvironment.temporaryDirectory("gguf")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("model.gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return try GGUFReader(limits: limits).read(path: path)
    }

    /// The error reading `bytes` throws; fails the test when it reads cleanly.
    func readError(_ bytes: [UInt8], limits: GGUFReader.Limits = .init(), sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> GGUFError {
        do {
            let file = try read(bytes, limits: limits)
            Issue.record("expected an error, read \(file.metadata.count) keys", sourceLocation: sourceLocation)
            throw CancellationError()
        } catch let error as GGUFError {
            return error
        }
    }
}

/// Writes GGUF files for tests, little-endian, in any version (version 1 writes 32-bit counts).
struct GGUFBuilder {
    struct Tensor {
        var name: String
        var dims: [UInt64]
        var type: GGMLType
    }

    var version: UInt32 = 3
    var bytes: [UInt8] = []

    init(version: UInt32 = 3) { self.version = version }

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func count(_ v: UInt64) { if version == 1 { u32(UInt32(truncatingIfNeeded: v)) } else { u64(v) } }
    mutating func string(_ s: String) {
        count(UInt64(s.utf8.count))
        bytes += Array(s.utf8)
    }

    mutating func header(tensors: UInt64, kvs: UInt64) {
        bytes += Array("GGUF".utf8)
        u32(version)
        count(tensors)
        count(kvs)
    }

    mutating func value(_ v: GGUFValue) {
        switch v {
        case .uint8(let x): bytes.append(x)
        case .int8(let x): bytes.append(UInt8(bitPattern: x))
        case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { bytes += $0 }
        case .int16(let x): withUnsafeBytes(of: x.littleEndian) { bytes += $0 }
        case .uint32(let x): u32(x)
        case .int32(let x): u32(UInt32(bitPattern: x))
        case .float32(let x): u32(x.bitPattern)
        case .bool(let x): bytes.append(x ? 1 : 0)
        case .string(let s): string(s)
        case .uint64(let x): u64(x)
        case .int64(let x): u64(UInt64(bitPattern: x))
        case .float64(let x): u64(x.bitPattern)
        case .array(let type, let values):
            u32(type.rawValue)
            count(UInt64(values.count))
            for e in values { value(e) }
        case .skippedArray:
            fatalError("a skipped array has no elements to write")
        }
    }

    /// A whole file: header, metadata, tensor infos laid out back to back (each padded to
    /// `alignment`), padding, then the tensor data (zeros).
    func file(metadata: [(String, GGUFValue)], tensors: [Tensor], alignment: UInt64 = 32) -> [UInt8] {
        var b = self
        b.bytes = []
        b.header(tensors: UInt64(tensors.count), kvs: UInt64(metadata.count))
        for (key, v) in metadata {
            b.string(key)
            b.u32(v.type.rawValue)
            b.value(v)
        }
        var offset: UInt64 = 0
        var dataEnd: UInt64 = 0
        for t in tensors {
            b.string(t.name)
            b.u32(UInt32(t.dims.count))
            for d in t.dims { b.count(d) }
            b.u32(t.type.rawValue)
            b.u64(offset)
            let size = t.dims.reduce(1, *) / (t.type.blockSize ?? 1) * (t.type.typeSize ?? 1)
            dataEnd = offset + size
            offset = (dataEnd + alignment - 1) / alignment * alignment
        }
        if !tensors.isEmpty {
            while UInt64(b.bytes.count) % alignment != 0 { b.bytes.append(0) }
            b.bytes += Array(repeating: 0, count: Int(dataEnd))
        }
        return b.bytes
    }
}
