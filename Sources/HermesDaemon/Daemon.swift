import AsyncHTTPClient
import Foundation
import HermesCore
import HermesFront
import HermesGPU
import HermesSupervisor
import Hummingbird
import Logging
import ServiceLifecycle

/// `hermes-runtime serve --worker`: one ServiceGroup holding the supervisors, the control API and the
/// front. (`serve` itself is the guard, `DaemonGuard`, which runs this in a child and restarts it.)
///
/// Shutdown (SIGTERM, SIGINT, or `POST /v1/shutdown`) runs in reverse order: the front stops taking
/// requests and drains (at most `daemon.drain_timeout` seconds, then what still streams is cut), every
/// llama-server is stopped, and the control socket closes last, so `status` tells the truth until the
/// end. `POST /v1/restart` does the same but leaves the servers to the next daemon.
public enum Daemon {
    public struct Options: Sendable {
        public var llamaServerOverride: String?
        /// Profiles to start as soon as the daemon is up (the demo starts two).
        public var startProfiles: [String]
        /// The binary that runs `keeper` (default: this one).
        public var keeperExecutable: String?
        public var clock: any SupervisorClock
        public init(llamaServerOverride: String? = nil, startProfiles: [String] = [], keeperExecutable: String? = nil,
                    clock: any SupervisorClock = SystemSupervisorClock()) {
            self.llamaServerOverride = llamaServerOverride
            self.startProfiles = startProfiles
            self.keeperExecutable = keeperExecutable
            self.clock = clock
        }
    }

    /// How the daemon ended.
    public enum Outcome: Sendable {
        /// Stopped on purpose, its servers with it.
        case stopped
        /// `daemon restart`: the servers run on for the next daemon to adopt.
        case handedOff
    }

    /// The daemon's parts, built the same way for `serve` and for tests.
    public struct Built: Sendable {
        public let group: ServiceGroup
        public let registry: SupervisorRegistry
        public let adopted: [String]
        let lock: DaemonLock
    }

    /// The daemon's parts wired together but nothing started and nothing outside touched: no lock, no
    /// umask, no control socket, no process adopted or killed, no service run. `build` adds those;
    /// tests drive the parts in memory (Tests/HermesDaemonTests).
    struct Parts: Sendable {
        let config: HermesConfig
        let registry: SupervisorRegistry
        let info: DaemonInfo
        let reloader: Reloader
        let shutdown: ShutdownSwitch
        /// Every service but the control API, in start order (shut down in reverse).
        let services: [any Service]

        static func assemble(config: HermesConfig, paths: RuntimePaths, options: Options, logger: Logger) async -> Parts {
            var planner = CommandPlanner(probe: DialectProbe(cacheDirectory: paths.dialectCacheDirectory),
                                         binaryOverride: options.llamaServerOverride)
            planner.kvDirectory = paths.kvDirectory
            _ = DaemonMetrics.registry  // bootstrap metrics before anything makes a counter
            let monitor = GPUMonitor.forProcess(environment: ProcessInfo.processInfo.environment)
            let keeper = KeeperLaunch(executable: options.keeperExecutable ?? selfExecutable(),
                                      inheritedEnvironment: ProcessInfo.processInfo.environment, lease: config.runtime.daemon.lease)
            let registry = SupervisorRegistry(config: config, planner: planner, fitCheck: MemoryFit.check(monitor: monitor),
                                              keeper: keeper, clock: options.clock, logger: logger)
            let modelEvents = ModelEvents(paths: paths, settings: config.runtime.logs)
            let warm = WarmCaches(paths: paths, settings: config.runtime.effectiveKVCache, logger: logger,
                                  events: { modelEvents.record(event: $0, profile: $1, reason: $2, detail: $3) })
            await registry.attach(warm: warm)

            let gpu = GPUService(monitor: monitor, registry: registry, logger: logger)
            let manager = OnDemandManager(registry: registry, config: config, memory: ModelMemoryProbe.live(monitor: monitor),
                                          events: modelEvents, logger: logger)
            let (front, frontServices) = FrontWiring.make(config: config, runtime: OnDemandRuntime(registry: registry, manager: manager),
                                                          registry: registry, manager: manager, gpu: gpu, paths: paths, warm: warm,
                                                          logger: logger)
            if let f = front.front { await manager.attach(usage: { f.usage() }) }
            let reloader = Reloader(paths: paths, registry: registry, front: front, manager: manager, logger: logger)
            let shutdown = ShutdownSwitch()
            let info = DaemonInfo(configRoot: paths.configRoot.path, front: front, gpu: gpu, reloader: reloader, onDemand: manager,
                                  drainTimeout: config.runtime.daemon.drainTimeout, requestShutdown: { shutdown.trigger() })
            let starter = StartupService(registry: registry, profiles: options.startProfiles, clock: options.clock, logger: logger)
            var services: [any Service] = [registry, warm, gpu, starter, OnDemandService(manager: manager, registry: registry, logger: logger)]
            services += frontServices
            services += [ReloadOnHangup(reloader: reloader, logger: logger), DrainMarker(info: info)]
            return Parts(config: config, registry: registry, info: info, reloader: reloader, shutdown: shutdown, services: services)
        }
    }

    /// Takes the config root's lock, assembles the parts, adopts the servers an earlier daemon left, and
    /// puts the services in one group behind the control socket.
    public static func build(paths: RuntimePaths, options: Options, logger: Logger) async throws -> Built {
        // Everything the daemon creates (control socket, state, logs) is this user's alone.
        umask(0o077)
        let lock = try DaemonLock(paths: paths)
        let config = try ConfigLoader.load(paths: paths)
        try FileManager.default.createDirectory(at: paths.logsDirectory, withIntermediateDirectories: true)
        let parts = await Parts.assemble(config: config, paths: paths, options: options, logger: logger)
        let (adopted, stopped) = await parts.registry.adoptServers()
        if !adopted.isEmpty { logger.notice("adopted servers left running by an earlier daemon", metadata: ["profiles": "\(adopted)"]) }
        if !stopped.isEmpty { logger.notice("stopped servers whose profile is gone", metadata: ["profiles": "\(stopped)"]) }

        // The control socket: a stale file from a dead daemon is ours to remove (we hold the lock).
        try? FileManager.default.removeItem(at: paths.controlSocket)
        let control = ControlAPI.application(socket: paths.controlSocket.path, registry: parts.registry, daemon: parts.info, logger: logger)
        // Started in this order, shut down in reverse: the front drains first, then the servers stop,
        // and the control socket answers until the very end.
        let drain = config.runtime.daemon.drainTimeout
        var groupConfig = ServiceGroupConfiguration(
            services: ([control] + parts.services).map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // Past the drain limit what still streams is cancelled (and ends with a `shutting_down` SSE
        // error event, see RoutingFront.commit); stopping the servers is not (it runs
        // in a task of its own) and has its own SIGKILL deadline.
        groupConfig.maximumGracefulShutdownDuration = .seconds(drain)
        groupConfig.maximumCancellationDuration = .seconds(30)
        let group = ServiceGroup(configuration: groupConfig)
        parts.shutdown.attach(group)
        return Built(group: group, registry: parts.registry, adopted: adopted, lock: lock)
    }

    public static func run(paths: RuntimePaths, options: Options, logger: Logger) async throws -> Outcome {
        // The daemon's process only: tests that build a daemon or a front in their own process keep
        // glibc's defaults (the setting is process-wide, and theirs is a test runner's heap).
        HeapTuning.keepFreedBlocks()
        let built = try await build(paths: paths, options: options, logger: logger)
        logger.info("daemon running", metadata: ["pid": "\(getpid())", "socket": "\(paths.controlSocket.path)"])
        do {
            try await built.group.run()
        } catch {
            logger.error("shutdown did not finish cleanly", metadata: ["error": "\(error)"])
        }
        let handedOff = await built.registry.isHandingOff
        if !handedOff { try? FileManager.default.removeItem(at: paths.controlSocket) }
        withExtendedLifetime(built.lock) {}
        logger.info(handedOff ? "daemon handed its servers over" : "daemon stopped")
        return handedOff ? .handedOff : .stopped
    }

    /// This very binary, resolved once: after an upgrade replaces the file, the path names the new one.
    public static func selfExecutable() -> String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    }
}

/// Starts the profiles named on the command line once the daemon runs, then waits for shutdown. A
/// profile that fails to start (its port still held, its memory still taken) is tried again with the
/// restart backoff, as systemd's `serve --start` has nobody to run `start` again.
struct StartupService: Service {
    let registry: SupervisorRegistry
    let profiles: [String]
    let clock: any SupervisorClock
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for p in profiles { group.addTask { await keepStarting(p) } }
            }
        }
        try? await gracefulShutdown()
    }

    private func keepStarting(_ name: String) async {
        guard let settings = await registry.config.profile(named: name)?.llamaServer else {
            do { try await registry.start(name) } catch { logger.error("start failed", metadata: ["profile": "\(name)", "error": "\(error)"]) }
            return
        }
        var tracker = RestartTracker(settings: settings.effectiveRestart)
        while !Task.isCancelled {
            var cause: String
            do {
                var s = try await registry.start(name)
                while s.phase == .starting, !Task.isCancelled {
                    try? await clock.sleep(seconds: 0.1)
                    s = await registry.status(of: name) ?? s
                }
                if s.phase != .failed { return }
                cause = s.lastError ?? "failed"
            } catch {
                cause = "\(error)"
            }
            switch tracker.failed(at: clock.now, cause: cause) {
            case .restart(let delay, let attempt):
                logger.warning("start failed; trying again", metadata: ["profile": "\(name)", "attempt": "\(attempt)", "delay": "\(delay)", "error": "\(cause)"])
                try? await clock.sleep(seconds: delay)
            case .giveUp(let reason):
                logger.error("start failed; giving up", metadata: ["profile": "\(name)", "error": "\(reason)"])
                return
            }
        }
    }
}

/// Marks the daemon as stopping the moment graceful shutdown begins (it is the first service to be
/// told), so `status` and `start` say so while the front drains.
struct DrainMarker: Service {
    let info: DaemonInfo
    func run() async throws {
        try? await gracefulShutdown()
        info.markStopping()
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
