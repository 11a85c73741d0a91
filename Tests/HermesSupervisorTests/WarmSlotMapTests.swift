import Foundation
import HermesCore
import HermesTestSupport
import Logging
import Testing

@testable import HermesSupervisor

/// The slot map across daemons, in memory: what one daemon's front placed in each slot is written to
/// disk, and a daemon that adopts the same server process sends each conversation back to its slot; a
/// map of another process, or one that does not read, is ignored and removed.
@Suite struct WarmSlotMapTests {
    func caches(_ root: URL) -> WarmCaches {
        WarmCaches(paths: RuntimePaths(configRoot: root, stateDirectory: root.appendingPathComponent("state")),
                   settings: KVCacheSettings(), logger: Logger(label: "test"))
    }

    /// This test process stands in for the server: its pid and start time are real.
    var status: LocalRuntimeStatus {
        var s = LocalRuntimeStatus(phase: .ready, baseURL: "http://127.0.0.1:1", slotsTotal: 2, contextPerSlot: 2048)
        s.pid = getpid()
        return s
    }

    let command = LlamaServerCommand(executable: "/bin/sh", arguments: ["-c", "4096", "-np", "2"], environment: [:], host: "127.0.0.1", port: 1)

    /// Sends a request with these keys and lets it finish; the slot it went to and what that slot held.
    func send(_ warm: WarmCaches, _ keys: [UInt64]) async throws -> (slot: Int, held: [UInt64]) {
        let p = try #require(await warm.place(profile: "w", status: status, keys: keys, pinned: true))
        warm.finished(profile: "w", placement: p, cacheN: nil)
        return (p.slot, p.previousKeys)
    }

    @Test func anAdoptingDaemonSendsEachConversationBackToItsSlot() async throws {
        let root = try TestEnvironment.temporaryDirectory("slot-map")
        let first = caches(root)
        first.serverStarted(profile: "w", command: command)
        let a = try await send(first, [1, 2, 3]), b = try await send(first, [7, 8, 9])
        #expect(a.slot != b.slot)
        first.persistSlotMaps()
        let file = root.appendingPathComponent("state/kv/w/slots.json")
        let map = try SlotMap.decode(Data(contentsOf: file))
        #expect(map.pid == getpid() && map.slots.count == 2)

        let next = caches(root)
        next.serverAdopted(profile: "w", command: command, pid: getpid())
        let b2 = try await send(next, [7, 8, 9, 10])
        #expect(b2.slot == b.slot && b2.held == [7, 8, 9], "the second conversation went back to its own slot")
        let a2 = try await send(next, [1, 2, 3, 4])
        #expect(a2.slot == a.slot && a2.held == [1, 2, 3])

        // A new server (a start, not an adoption) holds nothing, and its map is gone.
        next.serverStarted(profile: "w", command: command)
        #expect(!FileManager.default.fileExists(atPath: file.path))
    }

    @Test func aMapOfAnotherProcessOrNotAMapIsIgnoredAndRemoved() async throws {
        let root = try TestEnvironment.temporaryDirectory("slot-map")
        let first = caches(root)
        first.serverStarted(profile: "w", command: command)
        _ = try await send(first, [1, 2, 3])
        _ = try await send(first, [7, 8, 9])
        first.persistSlotMaps()
        let file = root.appendingPathComponent("state/kv/w/slots.json")

        // pid 1 is not this process: what the map says is not what that process's slots hold.
        let other = caches(root)
        other.serverAdopted(profile: "w", command: command, pid: 1)
        #expect(!FileManager.default.fileExists(atPath: file.path))
        var s = status
        s.pid = 1
        let p = try #require(await other.place(profile: "w", status: s, keys: [7, 8, 9, 10], pinned: true))
        #expect(p.previousKeys.isEmpty, "nothing known of pid 1's slots")

        try Data("{\"version\":1,\"pid\":".utf8).write(to: file)
        let garbage = caches(root)
        garbage.serverAdopted(profile: "w", command: command, pid: getpid())
        #expect(!FileManager.default.fileExists(atPath: file.path))
    }
}
