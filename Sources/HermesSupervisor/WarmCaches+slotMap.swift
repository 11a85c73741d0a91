import Foundation
import HermesCore

/// The slot map on disk (`kv/PROFILE/slots.json`, see `SlotMap`): written while a server runs (every
/// half second when it changed, and at once when the daemon hands its servers over), read when a
/// daemon adopts the server, removed when the server stops or a new one starts.
extension WarmCaches {
    public static let slotMapName = "slots.json"

    func slotMapURL(profile: String) -> URL { folder(profile).appendingPathComponent(Self.slotMapName) }

    func removeSlotMap(profile: String) { try? FileManager.default.removeItem(at: slotMapURL(profile: profile)) }

    /// Writes each running server's slot map that changed since it was last written.
    public func persistSlotMaps() {
        // /proc is read outside the lock the front's placements take.
        let running: [(String, Int32, [SlotMemory], [Int: Int], SlotMap?)] = state.withLock { s in
            s.servers.compactMap { name, server in
                guard server.baseURL != nil, let pid = server.pid, !server.slots.isEmpty else { return nil }
                return (name, pid, server.slots, server.savedKeys, server.mapWritten)
            }
        }
        let due: [(String, SlotMap)] = running.compactMap { name, pid, slots, savedKeys, written in
            // A process's start time never changes: /proc is read once per server process.
            let startTime = written?.pid == pid ? written?.startTime ?? 0 : ProcessInfoReader.startTime(pid)
            guard startTime > 0 else { return nil }
            let map = SlotMap(pid: pid, startTime: startTime, slots: slots, savedKeys: savedKeys)
            return map == written ? nil : (name, map)
        }
        for (name, map) in due {
            do {
                try FileManager.default.createDirectory(at: folder(name), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                try WarmFiles.writeAtomically(map.encoded(), to: slotMapURL(profile: name))
                state.withLock { $0.servers[name]?.mapWritten = map }
            } catch {
                logger.warning("slot map not written", metadata: ["profile": "\(name)", "error": "\(error)"])
            }
        }
    }

    /// A warm-cache server an earlier daemon started, taken over: its saved files as at a start, and
    /// what its slots hold from the map the earlier daemon kept, when that map describes this very
    /// process (pid and start time). A map that does not read, or of another process, is removed.
    public func serverAdopted(profile: String, command: LlamaServerCommand, pid: Int32) {
        let url = slotMapURL(profile: profile)
        let map = (try? Data(contentsOf: url)).flatMap { try? SlotMap.decode($0) }
        serverStarted(profile: profile, command: command)
        guard let map, map.pid == pid, map.startTime == ProcessInfoReader.startTime(pid) else {
            if map != nil { logger.notice("slot map of another process ignored", metadata: ["profile": "\(profile)"]) }
            return
        }
        state.withLock { s in
            s.servers[profile]?.slots = map.memory
            s.servers[profile]?.savedKeys = map.savedKeys
            s.servers[profile]?.pid = pid
            s.tick = max(s.tick, map.slots.map(\.lastUsed).max() ?? 0)
        }
        logger.info("slot map taken over", metadata: ["profile": "\(profile)", "slots": "\(map.slots.filter { !$0.keys.isEmpty }.count)"])
    }
}
