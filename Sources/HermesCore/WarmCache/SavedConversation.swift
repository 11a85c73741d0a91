import Foundation

/// What produced a saved prompt cache: a file restores only into a server with the same identity
/// (the KV layout depends on every one of these).
public struct WarmIdentity: Sendable, Equatable, Codable {
    /// The model file: path, size and modification time (seconds since 1970).
    public var model: String
    public var modelBytes: Int
    public var modelModified: Double
    /// The llama-server build: its executable's path, size and modification time.
    public var server: String
    /// The flags that shape the KV: context, slots, cache type, `--swa-full`, as one string.
    public var kvFlags: String

    public init(model: String, modelBytes: Int, modelModified: Double, server: String, kvFlags: String) {
        self.model = model
        self.modelBytes = modelBytes
        self.modelModified = modelModified
        self.server = server
        self.kvFlags = kvFlags
    }
}

/// The sidecar record beside one saved slot file (`NAME.bin` + `NAME.json`). Read back from disk, so it
/// is outside input: `decode` bounds every field and never traps (fuzz target `sidecar`).
public struct SavedConversation: Sendable, Equatable, Codable {
    public static let version = 1
    /// Largest sidecar read (a 100K-token conversation of short messages is a few thousand keys).
    public static let maxBytes = 1 << 20
    public static let maxKeys = 50_000

    public var version: Int
    /// The slot file's name in the same folder (no path).
    public var file: String
    /// `PrefixKeys` of the conversation, as 16-digit hex.
    public var keys: [String]
    public var tokens: Int
    public var bytes: Int
    /// Seconds since 1970.
    public var savedAt: Double
    public var identity: WarmIdentity
    /// A restore of this file was tried and the server reused nothing.
    public var useless: Bool

    public init(file: String, keys: [UInt64], tokens: Int, bytes: Int, savedAt: Double, identity: WarmIdentity, useless: Bool = false) {
        self.version = Self.version
        self.file = file
        self.keys = keys.map(Self.hex)
        self.tokens = tokens
        self.bytes = bytes
        self.savedAt = savedAt
        self.identity = identity
        self.useless = useless
    }

    /// A key as 16 hex digits (sidecars, slot file names).
    public static func hex(_ k: UInt64) -> String {
        let s = String(k, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// The keys as numbers (validated by `decode`).
    public var keyValues: [UInt64] { keys.compactMap { UInt64($0, radix: 16) } }

    /// The record as the restore decision sees it.
    public var prefix: SavedPrefix { SavedPrefix(file: file, keys: keyValues, tokens: tokens, useless: useless) }

    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Reads a sidecar's bytes, or says why they are not a sidecar this build can use.
    public static func decode(_ data: Data) throws(Invalid) -> SavedConversation {
        guard data.count <= maxBytes else { throw Invalid(reason: "larger than \(maxBytes) bytes") }
        let r: SavedConversation
        do {
            r = try JSONDecoder().decode(SavedConversation.self, from: data)
        } catch {
            throw Invalid(reason: "not a sidecar record")
        }
        guard r.version == version else { throw Invalid(reason: "version \(r.version), not \(version)") }
        guard isPlainName(r.file), r.file.hasSuffix(".bin") else { throw Invalid(reason: "the file name is not a plain .bin name") }
        guard !r.keys.isEmpty, r.keys.count <= maxKeys,
              r.keys.allSatisfy({ $0.utf8.count == 16 && UInt64($0, radix: 16) != nil })
        else { throw Invalid(reason: "the prefix keys are not 1...\(maxKeys) 16-digit hex values") }
        guard (0...ConfigLimits.tokens).contains(r.tokens) else { throw Invalid(reason: "token count out of range") }
        guard (0...(1 << 50)).contains(r.bytes) else { throw Invalid(reason: "byte count out of range") }
        guard r.savedAt.isFinite, r.savedAt >= 0, r.savedAt < 1e11,
              r.identity.modelModified.isFinite, r.identity.modelBytes >= 0
        else { throw Invalid(reason: "a time or size out of range") }
        return r
    }

    /// Reads a sidecar file: a regular file of at most `maxBytes` (its size is checked before reading).
    public static func read(_ url: URL) throws(Invalid) -> SavedConversation {
        let a = try? FileManager.default.attributesOfItem(atPath: url.path)
        guard a?[.type] as? FileAttributeType == .typeRegular else { throw Invalid(reason: "not a regular file") }
        guard let size = (a?[.size] as? NSNumber)?.intValue, size <= maxBytes else { throw Invalid(reason: "larger than \(maxBytes) bytes") }
        guard let data = FileManager.default.contents(atPath: url.path) else { throw Invalid(reason: "unreadable") }
        return try decode(data)
    }

    /// Every sidecar in `dir` that reads as a record (the others are left alone).
    public static func readAll(in dir: URL) -> [SavedConversation] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.compactMap { try? read(dir.appendingPathComponent($0)) }
    }

    /// The record as JSON (sorted keys: stable files).
    public func encoded() -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return (try? e.encode(self)) ?? Data()
    }

    /// A name with no path in it, as llama-server requires of `filename`.
    public static func isPlainName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 200 && !s.hasPrefix(".")
            && s.utf8.allSatisfy { b in (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E }
    }
}
