import Foundation
import HermesCore
import HermesTestSupport
import Logging
import Synchronization
import Testing

@testable import HermesSupervisor

/// What `WarmCaches` does with the files it finds (no process needed): only whole records of this
/// server's identity are kept; the disk budget removes the oldest first.
@Suite(.serialized) struct WarmCacheFilesTests {
    final class Seen: Sendable { let list = Mutex<[String]>([]) }
    let seen = Seen()

    struct Setup {
        let warm: WarmCaches
        let dir: URL
        let command: LlamaServerCommand
        let identity: WarmIdentity
    }

    func setup(budget: Int = 1 << 30) throws -> Setup {
        let root = try TestEnvironment.temporaryDirectory("warm")
        let paths = RuntimePaths(configRoot: root, stateDirectory: root.appendingPathComponent("state"))
        let model = root.appendingPathComponent("m.gguf")
        try Data("GGUF".utf8).write(to: model)
        let command = LlamaServerCommand(executable: "/bin/sh", arguments: ["-m", model.path, "-c", "4096", "-np", "2", "--swa-full"],
                                         environment: [:], host: "127.0.0.1", port: 1)
        var settings = KVCacheSettings()
        settings.budgetBytes = budget
        let warm = WarmCaches(paths: paths, settings: settings, logger: Logger(label: "test"), events: { [seen] e, _, _, f in
            seen.list.withLock { $0.append("\(e) \(f)") }
        })
        let dir = paths.kvDirectory(profile: "w")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return Setup(warm: warm, dir: dir, command: command, identity: WarmIdentity.of(command))
    }

    /// A slot file of `bytes` bytes and its record.
    func plant(_ s: Setup, _ name: String, bytes: Int, savedAt: Double = Date().timeIntervalSince1970,
               identity: WarmIdentity? = nil, binBytes: Int? = nil) throws {
        try Data(repeating: 1, count: binBytes ?? bytes).write(to: s.dir.appendingPathComponent("\(name).bin"))
        let r = SavedConversation(file: "\(name).bin", keys: [1, 2, 3], tokens: 10, bytes: bytes, savedAt: savedAt, identity: identity ?? s.identity)
        try r.encoded().write(to: s.dir.appendingPathComponent("\(name).json"))
    }

    func files(_ s: Setup) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: s.dir.path).sorted() }

    @Test func onlyWholeRecordsOfThisServerAreKept() throws {
        let s = try setup()
        try plant(s, "good", bytes: 100)
        var other = s.identity
        other.kvFlags = "c=8192,np=2,ctk=-,ctv=-,swa_full=true"
        try plant(s, "other-layout", bytes: 100, identity: other)
        var otherModel = s.identity
        otherModel.modelBytes += 1
        try plant(s, "other-model", bytes: 100, identity: otherModel)
        try plant(s, "truncated", bytes: 100, binBytes: 60)
        try plant(s, "old", bytes: 100, savedAt: Date().timeIntervalSince1970 - 8 * 86_400)
        try Data("{\"version\":1,\"file\":\"good.bin\"".utf8).write(to: s.dir.appendingPathComponent("garbage.json"))
        try Data(repeating: 0, count: 10).write(to: s.dir.appendingPathComponent("orphan.bin"))
        try Data(repeating: 0, count: 10).write(to: s.dir.appendingPathComponent("tmp-1.bin"))

        s.warm.serverStarted(profile: "w", command: s.command)
        #expect(try files(s) == ["good.bin", "good.json"])
        let events = seen.list.withLock { $0 }
        for name in ["other-layout.json", "other-model.json", "truncated.json", "old.json", "garbage.json", "orphan.bin", "tmp-1.bin"] {
            #expect(events.contains("kv_ignored \(name)"), "\(events)")
        }
        #expect(s.warm.state.withLock { $0.servers["w"]?.saved.map(\.file) } == ["good.bin"])
    }

    @Test func theBudgetRemovesTheOldestFirst() throws {
        let s = try setup(budget: 250)
        let now = Date().timeIntervalSince1970
        try plant(s, "c-old", bytes: 100, savedAt: now - 300)
        try plant(s, "c-mid", bytes: 100, savedAt: now - 200)
        try plant(s, "c-new", bytes: 100, savedAt: now - 100)
        s.warm.serverStarted(profile: "w", command: s.command)
        s.warm.enforceBudget()
        #expect(try files(s) == ["c-mid.bin", "c-mid.json", "c-new.bin", "c-new.json"])
    }

    /// A client that names its slot keeps it; if a request is still on it, what it will hold is unknown.
    @Test func aClientsOwnSlotIsKeptAndRecorded() async throws {
        let s = try setup()
        s.warm.serverStarted(profile: "w", command: s.command)
        let status = LocalRuntimeStatus(phase: .ready, baseURL: "http://127.0.0.1:9", slotsTotal: 2, contextPerSlot: 2048)
        let free = await s.warm.place(profile: "w", status: status, keys: [7, 8], pinned: true, clientSlot: nil)
        #expect(free?.slot == 0, "without one, the first empty slot")
        let own = await s.warm.place(profile: "w", status: status, keys: [7, 8, 9], pinned: true, clientSlot: 1)
        #expect(own?.slot == 1, "the client's slot, although slot 0 holds the conversation")
        #expect(s.warm.state.withLock { $0.servers["w"]?.slots.first { $0.id == 1 }?.keys } == [7, 8, 9])
        let queued = await s.warm.place(profile: "w", status: status, keys: [5, 6], pinned: true, clientSlot: 1)
        #expect(queued == nil, "slot 1 is busy: the request waits there, unplaced")
        #expect(s.warm.state.withLock { $0.servers["w"]?.slots.first { $0.id == 1 }?.keys } == [], "what it will hold is unknown")
        #expect(await s.warm.place(profile: "w", status: status, keys: [5, 6], pinned: true, clientSlot: 5) == nil, "no such slot")
    }

    @Test func aRestoreThatReusedNothingIsNeverTriedAgain() async throws {
        let s = try setup()
        try plant(s, "c-a", bytes: 100)
        s.warm.serverStarted(profile: "w", command: s.command)
        let placement = WarmPlacement(slot: 0, restoredFile: "c-a.bin", restoredTokens: 10)
        s.warm.finished(profile: "w", placement: placement, cacheN: 0)
        #expect(s.warm.state.withLock { $0.servers["w"]?.saved.first?.useless } == true)
        let onDisk = try SavedConversation.read(s.dir.appendingPathComponent("c-a.json"))
        #expect(onDisk.useless, "the record says so, for the next daemon too")
        #expect(s.warm.counters.restoresUseless == 1)
    }
}
