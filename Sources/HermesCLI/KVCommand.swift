import ArgumentParser
import Foundation
import HermesSupervisor
import HermesCore

/// `hermes-runtime kv list|clear [PROFILE]`: the saved prompt caches of warm-cache profiles
/// (`STATE/kv/PROFILE/`), read from their sidecar records.
struct KVCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv", abstract: "List or clear saved prompt caches (warm_cache profiles).",
        subcommands: [KVListCommand.self, KVClearCommand.self])
}

struct KVListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Saved conversations per profile: count, tokens, bytes.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Only this profile.") var profile: String?

    func run() async throws {
        let rows = KVFolder.profiles(global.paths(), only: profile).map { ($0, KVFolder.records(global.paths(), $0)) }
        if rows.isEmpty { print("no saved prompt caches") }
        for (name, records) in rows {
            let tokens = records.reduce(0) { $0 &+ $1.tokens }, bytes = records.reduce(0) { $0 &+ $1.bytes }
            print("\(name): \(records.count) saved, \(tokens) tokens, \(ByteCount.format(bytes))")
            for r in records.sorted(by: { $0.savedAt > $1.savedAt }) {
                let age = Int(Date().timeIntervalSince1970 - r.savedAt)
                print("  \(r.file)  \(r.tokens) tokens  \(r.keys.count - 1) messages  \(ByteCount.format(r.bytes))  \(age)s ago\(r.useless ? "  useless" : "")")
            }
        }
    }
}

struct KVClearCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clear", abstract: "Remove saved prompt caches.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Only this profile.") var profile: String?

    func run() async throws {
        for name in KVFolder.profiles(global.paths(), only: profile) {
            let dir = global.paths().kvDirectory(profile: name)
            // The running server's slot map is not a saved cache: it stays (WarmCaches+slotMap).
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0 != WarmCaches.slotMapName }
            for f in files { try? FileManager.default.removeItem(at: dir.appendingPathComponent(f)) }
            print("\(name): \(files.count) files removed")
        }
    }
}

enum KVFolder {
    static func profiles(_ paths: RuntimePaths, only: String?) -> [String] {
        let all = ((try? FileManager.default.contentsOfDirectory(atPath: paths.kvDirectory.path)) ?? []).sorted()
        return only.map { o in all.filter { $0 == o } } ?? all
    }

    /// The profile's sidecars that read as records (the daemon removes the others when it loads the profile).
    static func records(_ paths: RuntimePaths, _ profile: String) -> [SavedConversation] {
        SavedConversation.readAll(in: paths.kvDirectory(profile: profile))
    }
}
