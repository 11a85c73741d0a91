import Foundation

/// The config files of a root as bytes: `runtime.yaml` and every `runtimes/*.yaml` (`.yml`).
///
/// A snapshot is what a backup holds and what a restore writes back. Files are kept byte for byte, so a
/// full restore keeps comments; only the routing-only restore rewrites YAML.
public struct ConfigSnapshot: Sendable, Equatable {
    /// `runtime.yaml`'s bytes; nil when the root has none.
    public var runtime: Data?
    /// Profile file name (`coding-local.yaml`) -> bytes.
    public var profiles: [String: Data]

    public init(runtime: Data? = nil, profiles: [String: Data] = [:]) {
        self.runtime = runtime
        self.profiles = profiles
    }

    /// True when the root held no config file at all.
    public var isEmpty: Bool { runtime == nil && profiles.isEmpty }

    /// Paths relative to the config root (`runtime.yaml`, `runtimes/NAME.yaml`), sorted.
    public var relativePaths: [String] {
        (runtime == nil ? [] : ["runtime.yaml"]) + profiles.keys.sorted().map { "runtimes/\($0)" }
    }

    /// Whether a file name in `runtimes/` is a profile file the loader reads.
    public static func isProfileFile(_ name: String) -> Bool {
        !name.hasPrefix(".") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml"))
    }

    /// Reads the root's config files as they are now.
    public static func read(from paths: RuntimePaths) throws -> ConfigSnapshot {
        let fm = FileManager.default
        var snapshot = ConfigSnapshot()
        if fm.fileExists(atPath: paths.runtimeFile.path) {
            snapshot.runtime = try Data(contentsOf: paths.runtimeFile)
        }
        let names = (try? fm.contentsOfDirectory(atPath: paths.profilesDirectory.path)) ?? []
        for name in names where isProfileFile(name) {
            snapshot.profiles[name] = try Data(contentsOf: paths.profilesDirectory.appendingPathComponent(name))
        }
        return snapshot
    }

    /// Makes the root's config equal to this snapshot: writes every file it holds and removes
    /// `runtime.yaml` and profile files it does not hold. Other files in `runtimes/` are left alone.
    /// Returns what changed, as paths relative to the root.
    @discardableResult
    public func write(to paths: RuntimePaths) throws -> SnapshotChanges {
        let fm = FileManager.default
        let current = try ConfigSnapshot.read(from: paths)
        var changes = SnapshotChanges()
        try fm.createDirectory(at: paths.configRoot, withIntermediateDirectories: true)
        if let runtime {
            if current.runtime != runtime {
                try runtime.write(to: paths.runtimeFile, options: .atomic)
                changes.written.append("runtime.yaml")
            }
        } else if current.runtime != nil {
            try fm.removeItem(at: paths.runtimeFile)
            changes.removed.append("runtime.yaml")
        }
        if !profiles.isEmpty {
            try fm.createDirectory(at: paths.profilesDirectory, withIntermediateDirectories: true)
        }
        for (name, data) in profiles.sorted(by: { $0.key < $1.key }) where current.profiles[name] != data {
            try data.write(to: paths.profilesDirectory.appendingPathComponent(name), options: .atomic)
            changes.written.append("runtimes/\(name)")
        }
        for name in current.profiles.keys.sorted() where profiles[name] == nil {
            try fm.removeItem(at: paths.profilesDirectory.appendingPathComponent(name))
            changes.removed.append("runtimes/\(name)")
        }
        return changes
    }
}

/// What writing a snapshot changed, as paths relative to the config root.
public struct SnapshotChanges: Sendable, Equatable, Codable {
    public var written: [String] = []
    public var removed: [String] = []
    public init(written: [String] = [], removed: [String] = []) {
        self.written = written
        self.removed = removed
    }
    public var isEmpty: Bool { written.isEmpty && removed.isEmpty }
}
