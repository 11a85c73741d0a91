import Foundation
import HermesCore

extension SupervisorRegistry {
    /// A planned stop of a warm-cache server (idle unload, eviction, `unload`, `stop`, `daemon stop`, a
    /// restart for a changed config) first saves its grown slots, bounded by `kv_cache.save_timeout`.
    func saveWarm(_ name: String, _ supervisor: ServerSupervisor) async {
        guard let warm, config.profiles[name]?.llamaServer?.warmCache == true else { return }
        let status = await supervisor.status()
        if status.phase == .ready { await warm.saveAll(profile: name, baseURL: supervisor.baseURL) }
        warm.serverStopped(profile: name)
    }

    /// `s` with its profile's saved conversations, for a `warm_cache` profile.
    func withWarm(_ s: ServerStatus) -> ServerStatus {
        guard let warm, config.profiles[s.profile]?.llamaServer?.warmCache == true else { return s }
        let saved = warm.savedOnDisk(profile: s.profile)
        var out = s
        out.warmSaved = saved.count
        out.warmTokens = saved.reduce(0) { $0 &+ $1.tokens }
        out.warmBytes = saved.reduce(0) { $0 &+ $1.bytes }
        return out
    }
}
