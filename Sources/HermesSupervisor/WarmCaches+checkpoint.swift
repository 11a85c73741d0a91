import Foundation
import HermesCore
import ServiceLifecycle

/// Checkpoints while running: a warm-cache server that has had nothing in flight for
/// `kv_cache.checkpoint_idle` gets its grown slots saved, so a crash or `kill -9` loses little; and every
/// half second each server's slot map is written when it changed, so a daemon that adopts the server
/// knows what its slots hold.
extension WarmCaches: Service {
    public func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .milliseconds(500))
            persistSlotMaps()
            for (profile, baseURL) in dueServers() {
                await saveAll(profile: profile, baseURL: baseURL)
            }
        }
    }

    /// Servers whose checkpoint is due now (`CheckpointSchedule`).
    func dueServers() -> [(String, String)] {
        let now = elapsed()
        return state.withLock { s in
            s.servers.compactMap { name, server in
                guard let base = server.baseURL else { return nil }
                let due = CheckpointSchedule.isDue(now: now, inFlight: server.inFlight, lastFinished: server.lastFinished,
                                                   grown: !server.grownSlots.isEmpty, idle: s.settings.checkpointIdle)
                return due ? (name, base) : nil
            }
        }
    }
}
