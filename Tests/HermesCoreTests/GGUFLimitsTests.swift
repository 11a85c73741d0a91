import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// Model files nobody here wrote (issue #10): hostile head counts, huge tables, FIFOs, stuck reads.
@Suite struct GGUFLimitsTests {
    func keys(heads: GGUFValue, kvHeads: GGUFValue? = nil, embedding: UInt32 = 64, blocks: UInt32 = 2) -> [(String, GGUFValue)] {
        var k: [(String, GGUFValue)] = [
            ("general.architecture", .string("llama")), ("llama.block_count", .uint32(blocks)),
            ("llama.context_length", .uint32(4096)), ("llama.embedding_length", .uint32(embedding)),
            ("llama.attention.head_count", heads),
        ]
        if let kvHeads { k.append(("llama.attention.head_count_kv", kvHeads)) }
        return k
    }

    /// Head counts near Int32.max used to overflow `kvElementsPerToken` (MemoryEstimate.swift:120).
    @Test(arguments: [UInt32(Int32.max), UInt32(Int32.max - 1), 1 << 17])
    func hugeHeadCountsAreRefusedNotTrapped(heads: UInt32) throws {
        let bytes = GGUFBuilder().file(metadata: keys(heads: .uint32(heads), kvHeads: .uint32(heads)), tensors: [])
        let file = try GGUFReader().read(bytes: bytes)
        #expect(throws: GGUFError.self) { try GGUFModelInfo(file: file) }
        do {
            _ = try GGUFModelInfo(file: file)
        } catch {
            #expect(error.message.contains("above the plausible limit") || error.message.contains("0...65536"), "\(error)")
        }
    }

    @Test func perLayerHeadsNearTheLimitsStillEstimate() throws {
        let heads = GGUFValue.array(.uint32, [.uint32(65536), .uint32(65536)])
        let bytes = GGUFBuilder().file(metadata: keys(heads: heads, embedding: 1 << 20), tensors: [])
        let info = try GGUFModelInfo(file: GGUFReader().read(bytes: bytes))
        // (2^20/2^16 + same) x 2^17 heads: large but exact.
        #expect(info.kvElementsPerToken() == 32 * 131_072)
        let estimate = MemoryEstimate(model: info, context: 1 << 24, slots: 4, kvCacheType: .f32)
        #expect(estimate.kvCacheBytes == UInt64(1 << 24) * 32 * 131_072 * 4)
        #expect(!estimate.verdict(available: .max / 2, pool: "GTT").message.isEmpty)
    }

    @Test func anEstimateOfAnythingSaturatesInsteadOfTrapping() {
        let info = GGUFModelInfo(path: "/m", architecture: "x", fileSize: .max, weightsBytes: .max, blockCount: Int.max,
                                 contextLength: Int.max, embeddingLength: Int.max, headCount: .uniform(Int.max),
                                 headCountKV: .perLayer([Int.max, Int.max, -5]), keyLength: Int.max, valueLength: Int.max)
        #expect(info.kvElementsPerToken() == .max)
        for layers in [GPULayers.all, .count(3), .count(0)] {
            let e = MemoryEstimate(model: info, context: 0, slots: 0, kvCacheType: .q4_0, gpuLayers: layers,
                                   reserve: .init(fixedBytes: .max, fraction: .infinity))
            #expect(e.totalBytes == .max)
            #expect(e.deviceBytes <= e.totalBytes)
            let v = e.verdict(available: 1 << 40, pool: "GTT")
            #expect(!v.fits)
            #expect(v.message.contains("does not fit"))
            _ = v.hint
            _ = e.verdict(device: .init(name: "VRAM", availableBytes: 0), host: .init(name: "RAM", availableBytes: .max)).message
        }
        #expect(ByteCount.format(UInt64.max).hasSuffix("TiB"))
    }

    @Test func aHugeTensorTableIsRefusedBeforeItIsRead() throws {
        // 1.5 M tensor infos of 40 bytes each: the count alone is refused (the message names offset 8,
        // the count itself: nothing after it was read).
        var b = GGUFBuilder()
        b.header(tensors: 1_500_000, kvs: 0)
        b.bytes += [UInt8](repeating: 0, count: 1_500_000 * 40)
        #expect(throws: GGUFError.self) { try GGUFReader().read(bytes: b.bytes) }
        do { _ = try GGUFReader().read(bytes: b.bytes) } catch {
            #expect(error.message.contains("the tensor count at offset 8 is 1500000, above the limit of 65536"), "\(error)")
        }
    }

    @Test func keptBytesAreCappedInAll() throws {
        var limits = GGUFReader.Limits()
        limits.keptBytesTotal = 1000
        let metadata: [(String, GGUFValue)] = (0..<20).map { ("k\($0)", .string(String(repeating: "x", count: 100))) }
        let bytes = GGUFBuilder().file(metadata: metadata, tensors: [])
        do {
            _ = try GGUFReader(limits: limits).read(bytes: bytes)
            Issue.record("read past the kept-bytes limit")
        } catch {
            #expect(error.message.contains("above the limit of 1000"), "\(error)")
        }
    }

    @Test func aLongTensorNameIsRefused() throws {
        let bytes = GGUFBuilder().file(metadata: [], tensors: [.init(name: String(repeating: "t", count: 300), dims: [32], type: .f32)])
        #expect(throws: GGUFError.self) { try GGUFReader().read(bytes: bytes) }
    }

    @Test func aTimeLimitStopsASlowRead() throws {
        var limits = GGUFReader.Limits()
        limits.timeLimit = .zero
        let metadata: [(String, GGUFValue)] = (0..<5000).map { ("k\($0)", .uint8(1)) }
        do {
            _ = try GGUFReader(limits: limits).read(bytes: GGUFBuilder().file(metadata: metadata, tensors: []))
            Issue.record("a zero time limit let 5000 entries through")
        } catch {
            #expect(error.message.contains("took longer than"), "\(error)")
        }
    }

    /// A FIFO never blocks the reader: refused at once, before any byte is read.
    @Test func aFIFOIsRefusedWithoutBlocking() async throws {
        let dir = try TestEnvironment.temporaryDirectory("gguf-fifo")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("model.gguf").path
        #expect(mkfifo(fifo, 0o600) == 0)
        do {
            _ = try GGUFReader().read(path: fifo)
            Issue.record("a FIFO was read")
        } catch {
            #expect(error.message.contains("FIFO"), "\(error)")
        }
        do {
            _ = try await GGUFReader().readModelInfoOnOwnThread(path: fifo)
            Issue.record("a FIFO was read")
        } catch {
            #expect(error.message.contains("FIFO"), "\(error)")
        }
        do {
            _ = try GGUFReader().read(path: "/dev/null")
            Issue.record("a device was read")
        } catch {
            #expect(error.message.contains("device"), "\(error)")
        }
    }

    @Test func theOwnThreadReadGivesTheSameAnswer() async throws {
        let dir = try TestEnvironment.temporaryDirectory("gguf-thread")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.gguf").path
        let bytes = GGUFBuilder().file(metadata: keys(heads: .uint32(4)), tensors: [.init(name: "w", dims: [64, 4], type: .f16)])
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let here = try GGUFReader().readModelInfo(path: path)
        let there = try await GGUFReader().readModelInfoOnOwnThread(path: path)
        #expect(here == there)
        #expect(there.headCount == .uniform(4))
    }

    @Test func tensorDataOffsetsNearTwoToThe64AreTruncationsNotTraps() throws {
        var b = GGUFBuilder()
        b.header(tensors: 1, kvs: 0)
        b.string("w")
        b.u32(1)
        b.u64(32)
        b.u32(GGMLType.f32.rawValue)
        b.u64(UInt64.max - 31)  // a multiple of 32; dataOffset + end would overflow in the message
        while b.bytes.count % 32 != 0 { b.bytes.append(0) }
        do {
            _ = try GGUFReader().read(bytes: b.bytes)
            Issue.record("read a tensor past 2^64")
        } catch {
            #expect(error.message.contains("beyond 2^64"), "\(error)")
        }
    }
}

/// The summaries of model files are read once per file version.
@Suite(.serialized) struct ModelInfoCacheTests {
    @Test func aSecondReadOfTheSameFileParsesNothingAndAChangedFileIsReadAgain() throws {
        let dir = try TestEnvironment.temporaryDirectory("gguf-cache")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.gguf").path
        let one = GGUFBuilder().file(metadata: GGUFLimitsTests().keys(heads: .uint32(4), blocks: 2), tensors: [])
        try Data(one).write(to: URL(fileURLWithPath: path))
        let before = ModelInfoCache.shared.parses
        let first = try GGUFReader.modelInfo(path: path)
        #expect(ModelInfoCache.shared.parses == before + 1)
        #expect(try GGUFReader.modelInfo(path: path) == first)
        #expect(ModelInfoCache.shared.parses == before + 1, "the same file was parsed again")

        // Rewritten (another size and mtime): read again, and the new answer is the file's.
        let two = GGUFBuilder().file(metadata: GGUFLimitsTests().keys(heads: .uint32(4), blocks: 7), tensors: [])
        try Data(two).write(to: URL(fileURLWithPath: path))
        #expect(try GGUFReader.modelInfo(path: path).blockCount == 7)
        #expect(ModelInfoCache.shared.parses == before + 2)

        // Other limits are not the cache's: they always parse.
        var limits = GGUFReader.Limits()
        limits.metadataCount = 1
        #expect(throws: GGUFError.self) { try GGUFReader(limits: limits).readModelInfo(path: path) }
    }

    @Test func theCPUTimeLimitIgnoresTimeSpentWaiting() throws {
        // A parse that waits (here: before it starts) spends no CPU time: the limit is what the parse
        // itself costs, so a busy machine does not refuse a good file.
        let start = ThreadCPUTime.now()
        Thread.sleep(forTimeInterval: 0.3)
        #expect(ThreadCPUTime.now() - start < .milliseconds(250))
        var spin = 0
        let t0 = ThreadCPUTime.now()
        while ThreadCPUTime.now() - t0 < .milliseconds(20) { spin &+= 1 }
        #expect(spin > 0)
    }
}
