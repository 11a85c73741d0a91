import Foundation
import HermesCore
import HermesSupervisor
import Logging
import ServiceLifecycle
import UnixSignals

/// The answer to `hermes-runtime reload` (`POST /v1/reload`, or SIGHUP to the daemon).
public struct ReloadResult: Codable, Sendable {
    /// Whether the new config is now in force. False leaves the old one untouched.
    public var reloaded: Bool
    public var profiles: [String]
    /// `file:line:column: message [key]` for every problem; errors make `reloaded` false.
    public var diagnostics: [String]
    /// What a reload cannot change by itself (a running server's command line, the front's address).
    public var notes: [String]

    public init(reloaded: Bool, profiles: [String], diagnostics: [String], notes: [String]) {
        self.reloaded = reloaded
        self.profiles = profiles
        self.diagnostics = diagnostics
        self.notes = notes
    }
}

/// Reads the config root again and swaps it in: first into the front (which refuses a config whose
/// front key is unset), then into the supervisors' registry. An invalid config is refused whole and
/// the daemon keeps serving on the old one. Running servers keep their command line until restarted.
final class Reloader: Sendable {
    let paths: RuntimePaths
    let registry: SupervisorRegistry
    let front: FrontHandle
    let manager: OnDemandManager
    let logger: Logger
    private let serial = SerialGate()

    init(paths: RuntimePaths, registry: SupervisorRegistry, front: FrontHandle, manager: OnDemandManager, logger: Logger) {
        self.manager = manager
        self.paths = paths
        self.registry = registry
        self.front = front
        self.logger = logger
    }

    func reload() async -> ReloadResult {
        await serial.run { await self.reloadOnce() }
    }

    private func reloadOnce() async -> ReloadResult {
        let (loaded, diagnostics) = ConfigLoader.validate(paths: paths)
        let described = diagnostics.map(\.description)
        guard let config = loaded, !diagnostics.contains(where: { $0.severity == .error }) else {
            logger.error("reload refused: the config has errors; the old one stays", metadata: ["errors": "\(diagnostics.filter { $0.severity == .error }.count)"])
            return ReloadResult(reloaded: false, profiles: await registry.config.profileNames, diagnostics: described, notes: [])
        }
        let old = await registry.config
        if let f = front.front {
            do {
                try f.reload(config)
            } catch {
                logger.error("reload refused by the front; the old config stays", metadata: ["error": "\(error)"])
                return ReloadResult(reloaded: false, profiles: old.profileNames, diagnostics: described + ["front: \(error)"], notes: [])
            }
        }
        await registry.update(config: config)
        await manager.update(config: config)
        var notes: [String] = []
        if old.runtime.front.host != config.runtime.front.host || old.runtime.front.port != config.runtime.front.port {
            notes.append("front.listen changed: the front stays on \(old.runtime.front.host):\(old.runtime.front.port) until the daemon restarts")
        }
        for s in await registry.statuses() where s.pid != nil && s.phase != .stopped && s.phase != .failed {
            let before = old.profiles[s.profile], after = config.profiles[s.profile]
            if after == nil {
                notes.append("\(s.profile) is no longer configured but still runs: `hermes-runtime stop \(s.profile)`")
            } else if before != after {
                notes.append("\(s.profile) changed and runs with its old settings: `hermes-runtime stop \(s.profile) && hermes-runtime start \(s.profile)` applies them")
            }
        }
        logger.notice("config reloaded", metadata: ["profiles": "\(config.profiles.count)"])
        return ReloadResult(reloaded: true, profiles: config.profileNames, diagnostics: described, notes: notes)
    }
}

/// One reload at a time.
actor SerialGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        while busy { await withCheckedContinuation { waiters.append($0) } }
        busy = true
        defer {
            busy = false
            if !waiters.isEmpty { waiters.removeFirst().resume() }
        }
        return await body()
    }
}

/// SIGHUP reloads the config, as daemons do.
struct ReloadOnHangup: Service {
    let reloader: Reloader
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                let r = await reloader.reload()
                if !r.reloaded { for d in r.diagnostics { logger.error("config problem", metadata: ["diagnostic": "\(d)"]) } }
            }
        }
    }
}
