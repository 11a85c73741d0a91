import Foundation
import Yams

/// What a restore did.
public struct RestoreResult: Sendable, Equatable {
    /// The backup that was restored.
    public var restored: BackupInfo
    /// The backup of what the restore replaced: restoring it undoes the restore.
    public var undo: BackupInfo
    public var routingOnly: Bool
    /// Files written or removed.
    public var changes: SnapshotChanges
    /// Files whose YAML had to be re-serialized (routing-only restore of a file the text-level splice
    /// could not handle, such as flow style): their comments are gone.
    public var rewritten: [String]
    /// What was deliberately left alone, for a person.
    public var notes: [String]
    /// Warnings from validating the restored config.
    public var warnings: [ConfigDiagnostic]
}

/// A restore that was refused: the restored config did not validate (the previous state was put
/// back), or the backup could not be merged.
public struct RestoreFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The errors found in the restored config.
    public var diagnostics: [ConfigDiagnostic]
    /// True when files had been changed and were put back as they were.
    public var rolledBack: Bool
    public init(message: String, diagnostics: [ConfigDiagnostic] = [], rolledBack: Bool = false) {
        self.message = message
        self.diagnostics = diagnostics
        self.rolledBack = rolledBack
    }
    public var description: String {
        ([message] + diagnostics.map(\.description)).joined(separator: "\n")
    }
}

/// Restores a backup, in full or only its routing settings.
///
/// Full: `runtime.yaml` and the profile files become byte-for-byte those of the backup (files the backup
/// does not hold are removed). Routing-only: in `runtime.yaml` the front's ``frontRoutingKeys`` and in each
/// profile the ``profileRoutingKeys`` take the backup's values (a key the backup lacks is removed);
/// everything else is untouched, comments included: the keys' lines are swapped as text (`YAMLSplice`),
/// and only a file that cannot be spliced is re-serialized. Either way the current state is backed up first (reason `pre-restore`),
/// and a result that does not validate is rolled back.
public enum ConfigRestore {
    /// The routing part of `runtime.yaml`'s `front:`.
    public static let frontRoutingKeys = ["routes", "aliases", "platforms", "by_source", "default"]
    /// The routing part of a profile: where its requests go when it cannot take them, and when.
    public static let profileRoutingKeys = ["burst", "fallback", "context_over", "queue_wait", "output_reserve", "cooldown"]

    public static func restore(
        _ id: String?, routingOnly: Bool, store: BackupStore,
        environment: [String: String] = ProcessInfo.processInfo.environment, now: Date = Date()
    ) throws -> RestoreResult {
        let paths = store.paths
        let target = try store.find(id)
        // Read the backup before making the safety backup: pruning could remove the target otherwise.
        let backup = try store.snapshot(of: target)
        let current = try ConfigSnapshot.read(from: paths)

        var desired = backup
        var rewritten: [String] = []
        var notes: [String] = []
        if routingOnly {
            (desired, rewritten, notes) = try mergeRouting(current: current, backup: backup)
        }
        let undo = try store.save(current, reason: "pre-restore", detail: "before restoring \(target.id)\(routingOnly ? " (routing only)" : "")", now: now)
        let changes: SnapshotChanges
        do {
            changes = try desired.write(to: paths)
        } catch {
            _ = try? current.write(to: paths)
            throw RestoreFailure(message: "writing the restored files failed: \(error); the previous files were put back", rolledBack: true)
        }
        let (_, diagnostics) = ConfigLoader.validate(paths: paths, environment: environment)
        let errors = diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty {
            try current.write(to: paths)
            throw RestoreFailure(
                message: "the restored config does not validate, so the previous config was put back (backup \(undo.id) holds it too):",
                diagnostics: errors, rolledBack: true)
        }
        return RestoreResult(restored: target, undo: undo, routingOnly: routingOnly, changes: changes,
                             rewritten: rewritten.filter { changes.written.contains($0) }, notes: notes,
                             warnings: diagnostics.filter { $0.severity == .warning })
    }

    /// `current` with the routing keys of `backup`; also the files whose YAML was re-serialized and notes.
    public static func mergeRouting(current: ConfigSnapshot, backup: ConfigSnapshot) throws
        -> (snapshot: ConfigSnapshot, rewritten: [String], notes: [String])
    {
        var result = current
        var rewritten: [String] = []
        var notes: [String] = []

        // runtime.yaml: only front.{routes, aliases, platforms, by_source, default}.
        let currentRuntime = try mapping(current.runtime, file: "runtime.yaml", side: "current")
        let backupRuntime = try mapping(backup.runtime, file: "runtime.yaml", side: "backup")
        var root = currentRuntime ?? Node.Mapping([])
        var front = root["front"]?.mapping ?? Node.Mapping([])
        let backupFront = backupRuntime?["front"]?.mapping ?? Node.Mapping([])
        if copyKeys(frontRoutingKeys, from: backupFront, into: &front) {
            if let current = current.runtime, let backup = backup.runtime,
                let spliced = YAMLSplice.runtime(current: String(decoding: current, as: UTF8.self),
                                                 backup: String(decoding: backup, as: UTF8.self), keys: frontRoutingKeys)
            {
                result.runtime = Data(spliced.utf8)
            } else {
                root["front"] = .mapping(front)
                result.runtime = Data(try serialize(root, file: "runtime.yaml").utf8)
                rewritten.append("runtime.yaml")
            }
        }

        // Profiles present on both sides.
        for name in current.profiles.keys.sorted() {
            let file = "runtimes/\(name)"
            guard backup.profiles[name] != nil else {
                notes.append("\(file) is not in the backup: left as it is")
                continue
            }
            var own = try mapping(current.profiles[name], file: file, side: "current") ?? Node.Mapping([])
            let theirs = try mapping(backup.profiles[name], file: file, side: "backup") ?? Node.Mapping([])
            if copyKeys(profileRoutingKeys, from: theirs, into: &own) {
                if let mine = current.profiles[name], let other = backup.profiles[name],
                    let spliced = YAMLSplice.profile(current: String(decoding: mine, as: UTF8.self),
                                                     backup: String(decoding: other, as: UTF8.self), keys: profileRoutingKeys)
                {
                    result.profiles[name] = Data(spliced.utf8)
                } else {
                    result.profiles[name] = Data(try serialize(own, file: file).utf8)
                    rewritten.append(file)
                }
            }
        }
        for name in backup.profiles.keys.sorted() where current.profiles[name] == nil {
            notes.append("runtimes/\(name) is only in the backup: not restored (a full restore brings it back)")
        }
        return (result, rewritten, notes)
    }

    /// Sets each key to the source's value, or removes it when the source lacks it; true if anything changed.
    static func copyKeys(_ keys: [String], from source: Node.Mapping, into target: inout Node.Mapping) -> Bool {
        var changed = false
        for key in keys where target[key] != source[key] {
            target[key] = source[key]
            changed = true
        }
        return changed
    }

    static func mapping(_ data: Data?, file: String, side: String) throws -> Node.Mapping? {
        guard let data else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw RestoreFailure(message: "the \(side) \(file) is not valid YAML, so its routing keys cannot be merged: \(error); a full restore replaces the whole file")
        }
        guard let node else { return nil }
        guard let m = node.mapping else {
            throw RestoreFailure(message: "the \(side) \(file) is not a mapping of keys, so its routing keys cannot be merged")
        }
        return m
    }

    static func serialize(_ mapping: Node.Mapping, file: String) throws -> String {
        do {
            return try Yams.serialize(node: .mapping(mapping))
        } catch {
            throw RestoreFailure(message: "cannot write \(file) as YAML: \(error)")
        }
    }
}
