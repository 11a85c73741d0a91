#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the header, metadata and tensor infos of a GGUF file (ggml's `docs/gguf.md`) without touching
/// the tensor data.
///
/// Models are 13-40 GB and the part read here is a few megabytes at the front, so the reader pulls the
/// file through a 1 MiB window with `pread` and skips what it does not keep. Every length and count is
/// checked against the bytes the file can still hold before anything is allocated, so a corrupt or
/// hostile file produces a `GGUFError` rather than a crash or a huge allocation.
public struct GGUFReader: Sendable {
    /// Bounds on what is kept in memory; the defaults fit every real model seen.
    public struct Limits: Sendable, Equatable {
        /// Arrays with more elements are skipped (count kept). Per-layer arrays have one element per
        /// layer (at most a few hundred); vocabularies have 30k-260k and are not needed.
        public var keptArrayCount: UInt64 = 1024
        /// Total array elements kept over the whole file, so many medium arrays cannot add up.
        public var keptElementsTotal: UInt64 = 1 << 20
        /// The longest string value kept (chat templates are tens of KB).
        public var stringBytes: UInt64 = 16 << 20
        /// The longest key or tensor name (the GGUF spec caps keys at 65535 bytes).
        public var keyBytes: UInt64 = 65535
        /// Arrays of arrays deeper than this are refused: no real model nests more than twice, and the
        /// reader recurses once per level.
        public var nesting: Int = 8
        /// Tensor infos: real models have a few hundred to a few thousand (a 671B MoE about 1,100). A
        /// table of 1.5 M entries would cost seconds and hundreds of MB before the first useful answer.
        public var tensorCount: UInt64 = 65536
        /// Metadata entries: real models have 20-60.
        public var metadataCount: UInt64 = 16384
        /// The longest tensor name (llama.cpp refuses names of 64 bytes or more; some slack for forks).
        public var tensorNameBytes: UInt64 = 256
        /// Every key, string value and tensor name kept, together: a file cannot make the reader hold
        /// more than this however its lengths add up.
        public var keptBytesTotal: UInt64 = 64 << 20
        /// CPU time one parse may spend (a pathological table) before the file is refused. CPU time of the
        /// reading thread, not wall time, so a busy machine does not make a good file fail.
        public var timeLimit: Duration = .seconds(10)
        /// Wall time a read on its own thread (`readModelInfoOnOwnThread`) is waited for: a read blocked in
        /// the kernel (a stalled disk or mount) spends no CPU, so only this catches it.
        public var blockedLimit: Duration = .seconds(30)

        public init() {}
    }

    public var limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Reads the file at `path`; throws `GGUFError` saying what is wrong and where.
    ///
    /// Blocking file I/O: call it off the event loops (`GGUFReader.readOffLoop` does).
    public func read(path: String) throws(GGUFError) -> GGUFFile {
        let source = try GGUFSource(path: path)
        var parser = GGUFParser(source: source, limits: limits)
        return try parser.parse()
    }

    /// Parses `bytes` as a whole GGUF file, reported under `path` (fuzzing and tests).
    public func read(bytes: [UInt8], path: String = "<memory>") throws(GGUFError) -> GGUFFile {
        var parser = GGUFParser(source: GGUFSource(bytes: bytes, path: path), limits: limits)
        return try parser.parse()
    }

    /// Reads the file and summarises what a memory estimate needs.
    /// With the default limits the summary is kept per file identity (`ModelInfoCache`): the daemon asks
    /// for the same model at every start, admission and fit check, and a header with a 262K-token
    /// vocabulary is seconds of parsing in a debug build on a loaded box.
    public func readModelInfo(path: String) throws(GGUFError) -> GGUFModelInfo {
        let source = try GGUFSource(path: path)
        let cacheable = limits == Limits()
        if cacheable, let known = ModelInfoCache.shared.info(path: path, identity: source.identity) { return known }
        var parser = GGUFParser(source: source, limits: limits)
        let info = try GGUFModelInfo(file: parser.parse())
        if cacheable { ModelInfoCache.shared.store(info, path: path, identity: source.identity) }
        return info
    }

    /// `GGUFReader().readModelInfo(path:)`.
    public static func modelInfo(path: String) throws(GGUFError) -> GGUFModelInfo {
        try GGUFReader().readModelInfo(path: path)
    }
}

// MARK: - Parsing

/// One parse of one source; `GGUFReader` makes one per read.
struct GGUFParser {
    let source: GGUFSource
    let limits: GGUFReader.Limits
    var version: UInt32 = 0
    var keptElements: UInt64 = 0
    var keptBytes: UInt64 = 0
    /// On the reading thread's CPU clock (`ThreadCPUTime`).
    let deadline: Duration
    var steps: UInt32 = 0

    init(source: GGUFSource, limits: GGUFReader.Limits) {
        self.source = source
        self.limits = limits
        self.deadline = ThreadCPUTime.now() + limits.timeLimit
    }

    /// Called once per entry read; looks at the clock every 4096 calls (reading it costs well under a µs).
    mutating func tick(_ what: @autoclosure () -> String) throws(GGUFError) {
        steps &+= 1
        guard steps & 4095 == 0, ThreadCPUTime.now() > deadline else { return }
        throw .invalidValue(path: path, offset: source.offset, what: what(),
                            detail: "reading took longer than \(limits.timeLimit) of CPU time (a pathological file)")
    }

    /// Counts `length` bytes against the total kept; refuses the read past `keptBytesTotal`.
    mutating func keep(_ length: UInt64, at offset: UInt64, _ what: @autoclosure () -> String) throws(GGUFError) {
        let (total, overflow) = keptBytes.addingReportingOverflow(length)
        if overflow || total > limits.keptBytesTotal {
            throw .absurdLength(path: path, offset: offset, what: "the keys, strings and names kept up to \(what())",
                                length: overflow ? .max : total, limit: limits.keptBytesTotal)
        }
        keptBytes = total
    }

    var path: String { source.path }
    var fileSize: UInt64 { source.fileSize }
    /// Version 1 wrote string lengths, array counts, header counts and tensor dimensions as uint32.
    var wide: Bool { version >= 2 }

    mutating func parse() throws(GGUFError) -> GGUFFile {
        let head = try source.prefix(8)
        let magic: [UInt8] = [0x47, 0x47, 0x55, 0x46]
        // A file shorter than the magic but starting like it is a cut-off GGUF; anything else is not one.
        guard !head.isEmpty, Array(head.prefix(4)) == Array(magic.prefix(min(4, head.count))) else {
            throw .notGGUF(path: path, firstBytes: head)
        }
        _ = try source.bytes(4, "the magic")
        version = try source.u32("the version")
        guard (1...3).contains(version) else { throw .unsupportedVersion(path: path, version: version) }

        let tensorCountOffset = source.offset
        let tensorCount = try count("the tensor count")
        let kvCountOffset = source.offset
        let kvCount = try count("the metadata count")
        // The smallest possible entries: a tensor info is a name length, n_dims, type and offset; a
        // key/value is a key length, a type tag and a one-byte value.
        let minTensorInfo: UInt64 = wide ? 24 : 20
        let minKV: UInt64 = wide ? 13 : 9
        if tensorCount > fileSize / minTensorInfo {
            throw .absurdLength(path: path, offset: tensorCountOffset, what: "the tensor count", length: tensorCount,
                                limit: fileSize / minTensorInfo)
        }
        if kvCount > fileSize / minKV {
            throw .absurdLength(path: path, offset: kvCountOffset, what: "the metadata count", length: kvCount,
                                limit: fileSize / minKV)
        }
        // Refused before a single entry is read, so a huge table costs nothing.
        if tensorCount > limits.tensorCount {
            throw .absurdLength(path: path, offset: tensorCountOffset, what: "the tensor count", length: tensorCount,
                                limit: limits.tensorCount)
        }
        if kvCount > limits.metadataCount {
            throw .absurdLength(path: path, offset: kvCountOffset, what: "the metadata count", length: kvCount,
                                limit: limits.metadataCount)
        }

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for i in 0..<kvCount {
            try tick("metadata entry \(i)")
            let keyOffset = source.offset
            let key = try string(limit: limits.keyBytes, "the key of metadata entry \(i)")
            let typeOffset = source.offset
            let type = try valueType(try source.u32("the type of \(key)"), at: typeOffset, "the type of \(key)")
            let parsed = try self.value(type, depth: 0, key)
            // llama.cpp refuses a file with a repeated key; so do we, rather than guess which one it means.
            guard metadata.updateValue(parsed, forKey: key) == nil else {
                throw .invalidValue(path: path, offset: keyOffset, what: "metadata key \(key)", detail: "the key appears twice")
            }
            keys.append(key)
        }

        let alignment = try alignment(metadata)

        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(Int(min(tensorCount, 65536)))
        for i in 0..<tensorCount {
            try tick("tensor info \(i)")
            tensors.append(try tensorInfo(index: i, alignment: alignment))
        }

        // llama.cpp seeks to the next multiple of the alignment only when there are tensors.
        let end = source.offset
        let (padded, paddingOverflow) = end.addingReportingOverflow(alignment - 1)
        let dataOffset = tensorCount == 0 ? end : padded / alignment * alignment
        guard !paddingOverflow, dataOffset <= fileSize else {
            throw .truncated(path: path, offset: end, reading: "the padding before the tensor data", fileSize: fileSize)
        }
        let dataBytes = fileSize - dataOffset
        for t in tensors {
            // A download cut short usually still has a whole header: catch it by the last tensor's end.
            let (end, overflow) = t.offset.addingReportingOverflow(t.bytes ?? 0)
            if overflow || end > dataBytes {
                let (last, beyond) = dataOffset.addingReportingOverflow(end)
                throw .truncated(path: path, offset: fileSize,
                                 reading: "the data of tensor \(t.name) (\(t.type), ends at byte \(overflow || beyond ? "beyond 2^64" : String(last)))",
                                 fileSize: fileSize)
            }
        }

        return GGUFFile(path: path, version: version, fileSize: fileSize, metadata: metadata, metadataKeys: keys,
                        tensors: tensors, alignment: alignment, tensorDataOffset: dataOffset)
    }

    // MARK: Primitives

    /// A header count, string length or array count: uint32 in version 1, uint64 after.
    func count(_ what: @autoclosure () -> String) throws(GGUFError) -> UInt64 {
        if wide { return try source.u64(what()) }
        return UInt64(try source.u32(what()))
    }

    mutating func string(limit: UInt64, _ what: @autoclosure () -> String) throws(GGUFError) -> String {
        let at = source.offset
        let length = try count("the length of \(what())")
        try checkLength(length, at: at, limit: limit, what())
        try keep(length, at: at, what())
        let bytes = try source.bytes(Int(length), what())
        // Invalid UTF-8 becomes U+FFFD: a mangled token or template must not make the file unreadable.
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A length longer than the whole file is corrupt; one longer than the rest of the file is a cut-off
    /// file; one over a sanity limit is refused before allocating it.
    func checkLength(_ length: UInt64, at offset: UInt64, limit: UInt64, _ what: @autoclosure () -> String) throws(GGUFError) {
        if length > fileSize {
            throw .absurdLength(path: path, offset: offset, what: "the length of \(what())", length: length, limit: fileSize)
        }
        if length > limit {
            throw .absurdLength(path: path, offset: offset, what: "the length of \(what())", length: length, limit: limit)
        }
        if length > fileSize - source.offset {
            throw .truncated(path: path, offset: source.offset, reading: "\(what()) (\(length) bytes)", fileSize: fileSize)
        }
    }

    func valueType(_ raw: UInt32, at offset: UInt64, _ what: @autoclosure () -> String) throws(GGUFError) -> GGUFValueType {
        guard let type = GGUFValueType(rawValue: raw) else {
            throw .invalidValue(path: path, offset: offset, what: what(), detail: "unknown value type \(raw) (known: 0-12)")
        }
        return type
    }
}

extension UInt64 {
    func saturatingMultiply(_ other: UInt64) -> UInt64 {
        let (r, o) = multipliedReportingOverflow(by: other)
        return o ? .max : r
    }
}

