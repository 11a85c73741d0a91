import Foundation

/// One saved copy of a root's config, as listed by `hermes-runtime config backups`.
public struct BackupInfo: Sendable, Equatable, Codable {
    /// A name a person can type: the local time it was taken, `20260314-153012` (`-2`, `-3` on a clash).
    public var id: String
    public var createdAt: Date
    /// Why it was taken: `init`, `import`, `pre-restore`, ...
    public var reason: String
    /// More about the reason, for a person (`restoring 20260314-153012`, `Hermes profile ~/.hermes`).
    public var detail: String?
    /// Paths relative to the config root (`runtime.yaml`, `runtimes/NAME.yaml`).
    public var files: [String]

    public init(id: String, createdAt: Date, reason: String, detail: String? = nil, files: [String]) {
        self.id = id
        self.createdAt = createdAt
        self.reason = reason
        self.detail = detail
        self.files = files
    }
}

/// Why a backup could not be found or read.
public struct BackupError: UserFacingError, Equatable, CustomStringConvertible {
    public enum Code: String, ErrorCode { case notFound, ambiguous, noBackups, unreadable }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// Timestamped backups of a config root under `ROOT/backups/`, newest `keep` kept.
///
/// Every command that writes config calls ``create(reason:detail:now:)`` first, so any change can be
/// undone with `hermes-runtime config restore`. Each backup is a directory holding copies of the files
/// and a `backup.json` manifest (id, time, reason, files).
public struct BackupStore: Sendable {
    public var paths: RuntimePaths
    /// How many backups are kept; older ones are pruned when a new one is made.
    public var keep: Int

    public static let defaultKeep = 10
    static let manifestName = "backup.json"

    public init(paths: RuntimePaths, keep: Int = BackupStore.defaultKeep) {
        self.paths = paths
        self.keep = max(1, keep)
    }

    public var directory: URL { paths.backupsDirectory }

    /// Saves the root's config as it is now and prunes the oldest backups beyond ``keep``.
    @discardableResult
    public func create(reason: String, detail: String? = nil, now: Date = Date()) throws -> BackupInfo {
        let snapshot = try ConfigSnapshot.read(from: paths)
        return try save(snapshot, reason: reason, detail: detail, now: now)
    }

    /// Saves `snapshot` (taken earlier) as a backup and prunes.
    @discardableResult
    public func save(_ snapshot: ConfigSnapshot, reason: String, detail: String? = nil, now: Date = Date()) throws -> BackupInfo {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let base = Self.idFormatter().string(from: now)
        var id = base
        var n = 2
        while fm.fileExists(atPath: directory.appendingPathComponent(id).path) {
            id = "\(base)-\(n)"
            n += 1
        }
        let info = BackupInfo(id: id, createdAt: now, reason: reason, detail: detail, files: snapshot.relativePaths)
        // Written under a hidden name and renamed, so a crash never leaves a half backup that lists.
        let staging = directory.appendingPathComponent(".staging-\(id)-\(UUID().uuidString.prefix(8))")
        try fm.createDirectory(at: staging.appendingPathComponent("runtimes"), withIntermediateDirectories: true)
        if let runtime = snapshot.runtime {
            try runtime.write(to: staging.appendingPathComponent("runtime.yaml"))
        }
        for (name, data) in snapshot.profiles {
            try data.write(to: staging.appendingPathComponent("runtimes").appendingPathComponent(name))
        }
        try Self.encoder().encode(info).write(to: staging.appendingPathComponent(Self.manifestName))
        try fm.moveItem(at: staging, to: directory.appendingPathComponent(id))
        try prune()
        return info
    }

    /// Every readable backup, oldest first.
    public func list() -> [BackupInfo] {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
        var out: [BackupInfo] = []
        for name in names where !name.hasPrefix(".") {
            let manifest = directory.appendingPathComponent(name).appendingPathComponent(Self.manifestName)
            guard let data = fm.contents(atPath: manifest.path),
                let info = try? Self.decoder().decode(BackupInfo.self, from: data), info.id == name
            else { continue }
            out.append(info)
        }
        return out.sorted(by: Self.older)
    }

    /// The backup named `id` (a unique prefix is enough), or the newest when `id` is nil.
    public func find(_ id: String?) throws -> BackupInfo {
        let all = list()
        guard let newest = all.last else {
            throw BackupError(.noBackups, "no backups in \(directory.path)")
        }
        guard let id, !id.isEmpty else { return newest }
        if let exact = all.first(where: { $0.id == id }) { return exact }
        let matches = all.filter { $0.id.hasPrefix(id) }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty { throw BackupError(.notFound, "no backup '\(id)' in \(directory.path)") }
        throw BackupError(.ambiguous, "'\(id)' could be \(matches.map(\.id).joined(separator: ", "))")
    }

    /// The files a backup holds.
    public func snapshot(of info: BackupInfo) throws -> ConfigSnapshot {
        let dir = directory.appendingPathComponent(info.id)
        var snapshot = ConfigSnapshot()
        for file in info.files {
            let url = dir.appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw BackupError(.unreadable, "backup \(info.id) lists \(file) but \(url.path) cannot be read")
            }
            if file == "runtime.yaml" {
                snapshot.runtime = data
            } else if file.hasPrefix("runtimes/") {
                snapshot.profiles[String(file.dropFirst("runtimes/".count))] = data
            }
        }
        return snapshot
    }

    /// Removes the oldest backups beyond ``keep``.
    public func prune() throws {
        let all = list()
        guard all.count > keep else { return }
        for old in all.prefix(all.count - keep) {
            try FileManager.default.removeItem(at: directory.appendingPathComponent(old.id))
        }
    }

    /// Time first; the clash suffix breaks ties so `-10` sorts after `-9`.
    static func older(_ a: BackupInfo, _ b: BackupInfo) -> Bool {
        if a.createdAt != b.createdAt { return a.createdAt < b.createdAt }
        return suffixNumber(a.id) < suffixNumber(b.id)
    }

    static func suffixNumber(_ id: String) -> Int {
        let parts = id.split(separator: "-")
        return parts.count >= 3 ? Int(parts.last!) ?? 0 : 1
    }

    static func idFormatter() -> DateFormatter {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return f
    }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.keyEncodingStrategy = .convertToSnakeCase
        // Sub-second precision keeps two backups taken in one second in order.
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(timestampFormatter().string(from: date))
        }
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let text = try c.decode(String.self)
            guard let date = timestampFormatter().date(from: text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO 8601 time: \(text)")
            }
            return date
        }
        return d
    }

    static func timestampFormatter() -> ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}
