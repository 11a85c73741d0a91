import Foundation
import HermesTestSupport
import Testing
import Yams

@testable import HermesCore

@Suite struct ConfigBackupTests {
    static let runtime = """
        # the front
        front:
          listen: 127.0.0.1:8082
          default: local
          aliases: { fast: local }
          routes:
            - name: cron-is-cheap
              match: { source_kind: cron }
              profile: cloud
        logs:
          keep: 3
        """
    static let cloud = """
        # a remote
        kind: openai
        base_url: https://example.com/v1
        model: big
        cooldown: 30s
        fallback: [cloud2]
        """
    static let cloud2 = """
        kind: openai
        base_url: https://example.org/v1
        """

    func root() throws -> TempRoot {
        try TempRoot(runtime: Self.runtime, profiles: [
            "local": localProfile(port: 8090, extra: "burst: cloud\nqueue_wait: 250ms\nthreads: 2"),
            "cloud": Self.cloud, "cloud2": Self.cloud2,
        ])
    }

    func text(_ root: TempRoot, _ file: String) throws -> String {
        try String(contentsOf: root.url.appendingPathComponent(file), encoding: .utf8)
    }

    func write(_ root: TempRoot, _ file: String, _ text: String) throws {
        try text.write(to: root.url.appendingPathComponent(file), atomically: true, encoding: .utf8)
    }

    @Test func backupHoldsEveryConfigFileAndIsListed() throws {
        let root = try root()
        let store = BackupStore(paths: root.paths)
        let info = try store.create(reason: "init", detail: "test")
        #expect(info.files == ["runtime.yaml", "runtimes/cloud.yaml", "runtimes/cloud2.yaml", "runtimes/local.yaml"])
        #expect(info.id.range(of: #"^\d{8}-\d{6}$"#, options: .regularExpression) != nil)
        let listed = store.list()
        #expect(listed.map(\.id) == [info.id])
        #expect(listed.first?.reason == "init")
        #expect(listed.first?.detail == "test")
        let snapshot = try store.snapshot(of: info)
        #expect(snapshot == (try ConfigSnapshot.read(from: root.paths)))
    }

    @Test func idsClashingInOneSecondStayInOrderAndOnlyTenAreKept() throws {
        let root = try root()
        let store = BackupStore(paths: root.paths)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        var made: [BackupInfo] = []
        for i in 0..<12 {
            // Two per second: the second of each pair gets a `-2` suffix.
            made.append(try store.create(reason: "r\(i)", now: t0.addingTimeInterval(Double(i / 2) + Double(i % 2) * 0.25)))
        }
        #expect(made[1].id == made[0].id + "-2")
        let kept = store.list()
        #expect(kept.count == 10)
        #expect(kept.map(\.id) == made.suffix(10).map(\.id))
        #expect(!FileManager.default.fileExists(atPath: store.directory.appendingPathComponent(made[0].id).path))
        #expect(try store.find(nil).id == made[11].id)
        #expect(try store.find(made[5].id).reason == "r5")
    }

    @Test func findTakesAUniquePrefixAndNamesAmbiguity() throws {
        let root = try root()
        let store = BackupStore(paths: root.paths)
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        let a = try store.create(reason: "a", now: t)
        _ = try store.create(reason: "b", now: t.addingTimeInterval(0.1))
        #expect(throws: BackupError.self) { try store.find(String(a.id.prefix(8))) }
        #expect(try store.find(a.id).reason == "a")
        #expect(try store.find(a.id + "-2").reason == "b")
        let missing = #expect(throws: BackupError.self) { try store.find("19990101") }
        #expect(missing?.code == .notFound)
        let empty = BackupStore(paths: try TempRoot(profiles: [:]).paths)
        #expect((#expect(throws: BackupError.self) { try empty.find(nil) })?.code == .noBackups)
    }

    @Test func fullRestoreMakesTheRootEqualToTheBackupAndCanBeUndone() throws {
        let root = try root()
        let store = BackupStore(paths: root.paths)
        let original = try ConfigSnapshot.read(from: root.paths)
        let backup = try store.create(reason: "init")

        // Edit: change a file, add a profile, remove one.
        try write(root, "runtime.yaml", Self.runtime.replacingOccurrences(of: "default: local", with: "default: cloud"))
        try write(root, "runtimes/extra.yaml", Self.cloud2)
        let edited = try ConfigSnapshot.read(from: root.paths)

        let result = try ConfigRestore.restore(backup.id, routingOnly: false, store: store, environment: ["HOME": "/home/test"])
        #expect(result.restored.id == backup.id)
        #expect(result.undo.reason == "pre-restore")
        #expect(result.changes.written == ["runtime.yaml"])
        #expect(result.changes.removed == ["runtimes/extra.yaml"])
        #expect(try ConfigSnapshot.read(from: root.paths) == original)
        #expect(try text(root, "runtime.yaml").hasPrefix("# the front"), "a full restore keeps comments")

        // Undo: restoring the pre-restore backup brings the edit back.
        _ = try ConfigRestore.restore(result.undo.id, routingOnly: false, store: store, environment: ["HOME": "/home/test"])
        #expect(try ConfigSnapshot.read(from: root.paths) == edited)
    }

    @Test func routingOnlyRestoreTakesOnlyRoutingKeys() throws {
        let root = try root()
        let store = BackupStore(paths: root.paths)
        let backup = try store.create(reason: "init")

        // Change routing and non-routing keys alike.
        try write(root, "runtime.yaml", """
            # my front, my notes
            front:
              listen: 127.0.0.1:9999   # moved off 8082
              default: cloud
              by_source: { cron: cloud2 }
            # logs kept a week
            logs:
              keep: 7
            """)
        try write(root, "runtimes/cloud.yaml", Self.cloud
            .replacingOccurrences(of: "model: big", with: "model: bigger")
            .replacingOccurrences(of: "cooldown: 30s", with: "cooldown: 5s")
            .replacingOccurrences(of: "fallback: [cloud2]", with: "fallback: []"))
        try write(root, "runtimes/local.yaml", localProfile(port: 8095, extra: "threads: 4\noutput_reserve: 99"))
        let cloud2Before = try text(root, "runtimes/cloud2.yaml")

        let result = try ConfigRestore.restore(backup.id, routingOnly: true, store: store, environment: ["HOME": "/home/test"])
        #expect(result.routingOnly)
        #expect(result.rewritten.isEmpty, "every file was spliced, none re-serialized")
        let runtimeText = try text(root, "runtime.yaml")
        for note in ["# my front, my notes", "# moved off 8082", "# logs kept a week"] {
            #expect(runtimeText.contains(note), "the comment '\(note)' survives a routing-only restore")
        }
        #expect(try text(root, "runtimes/cloud.yaml").hasPrefix("# a remote"))

        let (config, diagnostics) = root.validate()
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics)")
        let c = try #require(config)
        // Routing: as in the backup.
        #expect(c.runtime.front.defaultProfile == "local")
        #expect(c.runtime.front.aliases == ["fast": "local"])
        #expect(c.runtime.front.routes.map(\.name) == ["cron-is-cheap"], "by_source, absent from the backup, is gone")
        #expect(c.profiles["cloud"]?.openai?.cooldown == 30)
        #expect(c.profiles["cloud"]?.fallback == ["cloud2"])
        #expect(c.profiles["local"]?.burst == "cloud")
        #expect(c.profiles["local"]?.llamaServer?.queueWait == 0.25)
        #expect(c.profiles["local"]?.llamaServer?.outputReserve == nil)
        // Everything else: as edited.
        #expect(c.runtime.front.port == 9999)
        #expect(c.runtime.logs.keep == 7)
        #expect(c.profiles["cloud"]?.openai?.model == "bigger")
        #expect(c.profiles["local"]?.llamaServer?.port == 8095)
        #expect(c.profiles["local"]?.llamaServer?.threads == 4)
        #expect(try text(root, "runtimes/cloud2.yaml") == cloud2Before, "an unchanged file is not rewritten")
    }

    @Test func routingOnlyMergeNotesProfilesOnOneSideOnly() throws {
        let current = ConfigSnapshot(profiles: ["a.yaml": Data("kind: openai\nbase_url: http://x/v1\n".utf8)])
        let backup = ConfigSnapshot(profiles: ["b.yaml": Data("kind: openai\nbase_url: http://y/v1\n".utf8)])
        let (merged, rewritten, notes) = try ConfigRestore.mergeRouting(current: current, backup: backup)
        #expect(merged.profiles.keys.sorted() == ["a.yaml"])
        #expect(rewritten.isEmpty)
        #expect(notes.contains { $0.contains("runtimes/a.yaml is not in the backup") })
        #expect(notes.contains { $0.contains("runtimes/b.yaml is only in the backup") })
    }

    @Test func aRestoreThatDoesNotValidateIsRolledBack() throws {
        let root = try root()
        let store = BackupStore(paths: root.paths)
        // A backup whose default names a profile that no longer exists once restored routing-only.
        try write(root, "runtime.yaml", Self.runtime.replacingOccurrences(of: "default: local", with: "default: gone"))
        try write(root, "runtimes/gone.yaml", Self.cloud2)
        let bad = try store.create(reason: "test")
        try FileManager.default.removeItem(at: root.url.appendingPathComponent("runtimes/gone.yaml"))
        try write(root, "runtime.yaml", Self.runtime)
        let before = try ConfigSnapshot.read(from: root.paths)

        let failure = #expect(throws: RestoreFailure.self) {
            try ConfigRestore.restore(bad.id, routingOnly: true, store: store, environment: ["HOME": "/home/test"])
        }
        #expect(failure?.rolledBack == true)
        #expect(failure?.diagnostics.contains { $0.message.contains("'gone'") } == true)
        #expect(try ConfigSnapshot.read(from: root.paths) == before)
    }
}

@Suite struct RoutingMergeFidelityTests {
    /// Only the routing keys' lines change: the shipped profile, comments and all, comes back byte for byte.
    @Test func routingOnlyMergeSwapsTheKeysLinesAndKeepsComments() throws {
        let original = ProfileTemplates.codingLocal
        let edited = original.replacingOccurrences(of: "burst: coding-burst", with: "burst: review-cheap")
            .replacingOccurrences(of: "queue_wait: 250ms\n", with: "")
        let current = ConfigSnapshot(profiles: ["coding-local.yaml": Data(edited.utf8)])
        let backup = ConfigSnapshot(profiles: ["coding-local.yaml": Data(original.utf8)])
        let (merged, rewritten, _) = try ConfigRestore.mergeRouting(current: current, backup: backup)
        #expect(rewritten.isEmpty)
        let text = String(decoding: try #require(merged.profiles["coding-local.yaml"]), as: UTF8.self)
        #expect(text == original, "burst swapped back, queue_wait added back, nothing else touched")
        #expect(text.contains("# ROCm loads slowly through mmap"))
    }

    /// A key's block comes from the backup re-indented to the current file's indentation.
    @Test func frontKeysAreReindentedToTheCurrentFile() throws {
        let current = "# mine\nfront:\n    listen: 127.0.0.1:8082  # here\n    default: a\nlogs:\n    keep: 3\n"
        let backup = "front:\n  default: b\n  routes:\n    - name: r   # why\n      match: { platform: cli }\n      profile: b\n"
        let (merged, rewritten, _) = try ConfigRestore.mergeRouting(current: ConfigSnapshot(runtime: Data(current.utf8)),
                                                                    backup: ConfigSnapshot(runtime: Data(backup.utf8)))
        #expect(rewritten.isEmpty)
        let text = String(decoding: try #require(merged.runtime), as: UTF8.self)
        #expect(text == "# mine\nfront:\n    listen: 127.0.0.1:8082  # here\n    default: b\n    routes:\n      - name: r   # why\n        match: { platform: cli }\n        profile: b\nlogs:\n    keep: 3\n")
    }

    /// A file the splice cannot handle (flow style) is re-serialized, means the same, and is reported.
    @Test func aFlowStyleFileIsReserializedAndSaysSo() throws {
        let current = "{kind: openai, base_url: 'http://x/v1', fallback: [a]}\n"
        let backup = "kind: openai\nbase_url: http://x/v1\nfallback: [b]\n"
        let (merged, rewritten, _) = try ConfigRestore.mergeRouting(current: ConfigSnapshot(profiles: ["p.yaml": Data(current.utf8)]),
                                                                    backup: ConfigSnapshot(profiles: ["p.yaml": Data(backup.utf8)]))
        #expect(rewritten == ["runtimes/p.yaml"])
        let text = String(decoding: try #require(merged.profiles["p.yaml"]), as: UTF8.self)
        let parsed = ConfigLoader.parseProfiles([("p", "f", text)], environment: [:]).0["p"]
        #expect(parsed?.fallback == ["b"])
        #expect(parsed?.openai?.baseURL == "http://x/v1")
    }
}
