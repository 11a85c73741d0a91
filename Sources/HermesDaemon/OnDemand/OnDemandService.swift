import Foundation
import HermesCore
import HermesSupervisor
import Logging
import ServiceLifecycle

/// The front's view of the runtime with on-demand loading: the registry's statuses, and loads
/// through the manager. The registry itself stays unaware of on-demand profiles.
struct OnDemandRuntime: RuntimeStateProvider {
    let registry: SupervisorRegistry
    let manager: OnDemandManager

    /// A server being unloaded is "stopped" to the front from the moment the unload is decided.
    func status(ofProfile name: String) async -> LocalRuntimeStatus? {
        guard var s = await registry.status(ofProfile: name) else { return nil }
        if manager.isUnloading(name) { s.phase = .stopped }
        return s
    }

    func reportFailure(profile: String, httpStatus: Int?, reason: String) async {
        await registry.reportFailure(profile: profile, httpStatus: httpStatus, reason: reason)
    }

    func ensureLoaded(profile: String, wait: Bool) async -> LoadAnswer {
        await manager.ensureLoaded(profile: profile, wait: wait)
    }
}

/// Starts `load: always` profiles with the daemon, then unloads idle on-demand servers at their
/// deadlines until shutdown.
struct OnDemandService: Service {
    let manager: OnDemandManager
    let registry: SupervisorRegistry
    let logger: Logger
    /// The timer looks at least this often: a server loaded since it last slept gets its deadline then.
    static let longestSleep = 5.0

    func run() async throws {
        let config = await manager.config
        for p in config.profiles.values.sorted(by: { $0.name < $1.name }) where (p.llamaServer?.effectiveLoad ?? p.rpcWorker?.effectiveLoad) == .always {
            do { try await registry.start(p.name) } catch {
                logger.error("load: always profile did not start", metadata: ["profile": "\(p.name)", "error": "\(error)"])
            }
        }
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let next = await manager.unloadIdle() ?? Self.longestSleep
                // Sleep to the next deadline; a deadline only moves later with use, so waking early costs nothing.
                let seconds = min(max(next, 0.05), Self.longestSleep)
                try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            }
        }
    }
}
