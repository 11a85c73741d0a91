import AsyncHTTPClient
import Foundation
import HermesCore
import HermesGPU
import HermesSupervisor
import Hummingbird
import Logging
import ServiceLifecycle

/// `hermes-runtime serve`: one ServiceGroup holding the supervisors, the control API and the front.
///
/// Shutdown (SIGTERM, SIGINT, or `POST /v1/shutdown`) runs in reverse order: the control API and the
/// front stop taking requests, then every llama-server is stopped, then the process exits.
public enum Daemon {
    public struct Options: Sendable {
        public var llamaServerOverride: String?
        /// Profiles to start as soon as the daemon is up (the demo starts two).
        public var startProfiles: [String]
        public init(llamaServerOverride: String? = nil, startProfiles: [String] = []) {
            self.llamaServerOverride = llamaServerOverride
            self.startProfiles = startProfiles
        }
    }

    public static func run(paths: RuntimePaths, options: Options, logger: Logger) async throws {
        let lock = try DaemonLock(paths: paths)
        defer { withExtendedLifetime(lock) {} }
        let config = try ConfigLoader.load(paths: paths)
        try FileManager.default.createDirectory(at: paths.logsDirectory, withIntermediateDirectories: true)

        let reclaimed = await SupervisorRegistry.reclaimOrphans(paths: paths, logger: logger)
        if !reclaimed.isEmpty { logger.notice("stopped servers left by an earlier daemon", metadata: ["profiles": "\(reclaimed)"]) }

        let planner = CommandPlanner(probe: DialectProbe(cacheDirectory: paths.dialectCacheDirectory),
                                     binaryOverride: options.llamaServerOverride)
        _ = DaemonMetrics.registry  // bootstrap metrics before anything makes a counter
        let monitor = GPUMonitor.forProcess(environment: ProcessInfo.processInfo.environment)
        let registry = SupervisorRegistry(config: config, planner: planner, fitCheck: MemoryFit.check(monitor: monitor), logger: logger)
        let gpu = GPUService(monitor: monitor, registry: registry, logger: logger)
        let (front, frontServices) = FrontWiring.make(config: config, registry: registry, gpu: gpu, paths: paths, logger: logger)
        let reloader = Reloader(paths: paths, registry: registry, front: front, logger: logger)

        // The control socket: a stale file from a dead daemon is ours to remove (we hold the lock).
        try? FileManager.default.removeItem(at: paths.controlSocket)
        let shutdown = ShutdownSwitch()
        let info = DaemonInfo(configRoot: paths.configRoot.path, front: front, gpu: gpu, reloader: reloader,
                              requestShutdown: { shutdown.trigger() })
        let control = Application(
            router: ControlAPI.router(registry: registry, daemon: info),
            configuration: .init(address: .unixDomainSocket(path: paths.controlSocket.path), serverName: "hermes-runtime-control"),
            logger: logger)

        let starter = StartupService(registry: registry, profiles: options.startProfiles, logger: logger)
        // Shutdown runs in reverse: the front and control stop taking requests first, the servers last.
        var services: [any Service] = [registry, gpu, starter]
        services += frontServices
        services += [control, ReloadOnHangup(reloader: reloader, logger: logger)]
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        shutdown.attach(group)
        logger.info("daemon running", metadata: ["pid": "\(getpid())", "socket": "\(paths.controlSocket.path)"])
        try await group.run()
        try? FileManager.default.removeItem(at: paths.controlSocket)
        try? FileManager.default.removeItem(at: paths.daemonPidFile)
        logger.info("daemon stopped")
    }
}

/// Starts the profiles named on the command line once the daemon runs, then waits for shutdown.
struct StartupService: Service {
    let registry: SupervisorRegistry
    let profiles: [String]
    let logger: Logger

    func run() async throws {
        for p in profiles {
            do { try await registry.start(p) } catch { logger.error("start failed", metadata: ["profile": "\(p)", "error": "\(error)"]) }
        }
        try? await gracefulShutdown()
    }
}

/// Lets a request on the control socket ask the ServiceGroup to shut down gracefully.
final class ShutdownSwitch: @unchecked Sendable {
    private let lock = NSLock()
    private var group: ServiceGroup?
    private var pending = false

    func attach(_ g: ServiceGroup) {
        let fire: Bool = lock.withLock {
            group = g
            return pending
        }
        if fire { Task { await g.triggerGracefulShutdown() } }
    }

    func trigger() {
        let g: ServiceGroup? = lock.withLock {
            pending = true
            return group
        }
        if let g { Task { await g.triggerGracefulShutdown() } }
    }
}
