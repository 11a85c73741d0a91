import AsyncHTTPClient
import Foundation
import Synchronization
import HermesCore
import Logging
import ServiceLifecycle

/// Checks, before launch, that a model will fit in the memory it will use. Returns nil when it fits or
/// cannot be judged, or a refusal with the numbers. The daemon builds it from the GGUF reader and the
/// GPU probe; tests pass their own. `workers` is what each RPC worker of a main said about its free
/// memory (empty for a main without `rpc:`).
public typealias FitCheck = @Sendable (_ profile: Profile, _ settings: LlamaServerSettings, _ workers: [WorkerMemory]) async -> FitRefusal?

/// Why a model will not fit, with the numbers, and what would make it fit when that is known.
public struct FitRefusal: Sendable {
    public var reason: String
    public var hint: String?
    public init(reason: String, hint: String? = nil) {
        self.reason = reason
        self.hint = hint
    }
}

/// All supervised servers of one daemon; the front's view of them (`RuntimeStateProvider`); and a
/// Service that stops every server when the daemon shuts down.
public actor SupervisorRegistry: RuntimeStateProvider, Service {
    public private(set) var config: HermesConfig
    var supervisors: [String: ServerSupervisor] = [:] {
        didSet { published.withLock { [supervisors] in $0 = supervisors } }
    }
    /// The same map, readable without a hop onto this actor: the front asks on every request.
    private nonisolated let published = Mutex<[String: ServerSupervisor]>([:])
    private var preflightFailures: [String: ServerStatus] = [:]
    /// Profiles between "start asked" and "supervisor made": a second start waits for the first.
    private var launching: [String: Task<ServerStatus, any Error>] = [:]
    let planner: CommandPlanner
    let http: HTTPClient
    let logger: Logger
    let fitCheck: FitCheck?
    let keeper: KeeperLaunch
    let clock: any SupervisorClock
    /// Set by `daemon restart`: this daemon leaves the servers to the next one instead of stopping them.
    private var handingOff = false
    /// Warm prompt caches: saved before a warm-cache server stops (`attach(warm:)`).
    public private(set) var warm: WarmCaches?

    /// Turns on saving before stops for `warm_cache` profiles (the daemon's builder).
    public func attach(warm: WarmCaches) { self.warm = warm }
    /// Main -> the worker whose loss last restarted it, and when.
    var lostWorkers: [String: (worker: String, at: Date)] = [:]
    /// Mains whose relaunch found a worker on another box not answering, until one finds them all.
    var remoteOutages: Set<String> = []

    public init(config: HermesConfig, planner: CommandPlanner, http: HTTPClient = .shared, fitCheck: FitCheck? = nil,
                keeper: KeeperLaunch, clock: any SupervisorClock = SystemSupervisorClock(), logger: Logger) {
        self.config = config
        self.planner = planner
        self.http = http
        self.fitCheck = fitCheck
        self.keeper = keeper
        self.clock = clock
        self.logger = logger
    }

    /// Swaps in a new config; running servers keep the command they were started with until restarted.
    public func update(config: HermesConfig) {
        self.config = config
        warm?.update(settings: config.runtime.effectiveKVCache)
    }

    public enum StartError: UserFacingError, CustomStringConvertible {
        case unknownProfile(String, suggestion: String?)
        case notLocal(String, kind: String)
        case preflight(StartFailure)

        public var code: String {
            switch self {
            case .unknownProfile: "unknown_profile"
            case .notLocal: "not_local"
            case .preflight(let f): f.code
            }
        }
        public var message: String {
            switch self {
            case .unknownProfile(let n, _): "no profile '\(n)'"
            case .notLocal(let n, let k): "profile '\(n)' is a \(k) profile; only llama-server profiles are started"
            case .preflight(let f): f.message
            }
        }
        public var hint: String? {
            switch self {
            case .unknownProfile(_, let s): s.map { "did you mean '\($0)'?" }
            case .notLocal: nil
            case .preflight(let f): f.hint
            }
        }
        public var cause: String? {
            if case .preflight(let f) = self { return f.cause }
            return nil
        }
        public var description: String { rendered }
    }

    /// Checks and launches a profile; returns once it is spawned (poll `status` for readiness).
    /// `force` skips the memory-fit refusal.
    @discardableResult
    public func start(_ name: String, force: Bool = false) async throws -> ServerStatus {
        guard let profile = config.profile(named: name) else {
            throw StartError.unknownProfile(name, suggestion: closestMatch(to: name, in: config.profileNames))
        }
        guard profile.isSupervised else { throw StartError.notLocal(name, kind: profile.kindName) }
        let settings = profile.llamaServer ?? LlamaServerSettings()
        // The fit check awaits the GPU probe; a start arriving meanwhile joins this one.
        // Every answer decorated as `status(of:)` is (an rpc-worker's kind, a main's lost worker): a
        // worker ready at once is answered from here, and `start` words it by its kind.
        if let pending = launching[profile.name] { return decorated(try await pending.value) }
        if let existing = supervisors[profile.name] {
            let s = await existing.status()
            if [.starting, .ready, .unhealthy, .restarting].contains(s.phase) { return decorated(s) }
        }
        let task = Task { try await self.launch(profile, settings, force: force) }
        launching[profile.name] = task
        defer { launching[profile.name] = nil }
        return decorated(try await task.value)
    }

    private func launch(_ profile: Profile, _ settings: LlamaServerSettings, force: Bool) async throws -> ServerStatus {
        preflightFailures[profile.name] = nil
        do {
            let command = try await preflight(profile, settings, force: force)
            let supervisor = try makeSupervisor(profile, command)
            await wireRPC(profile, supervisor)
            supervisors[profile.name] = supervisor
            if settings.warmCache == true { warm?.serverStarted(profile: profile.name, command: command) }
            await supervisor.start()
            return await supervisor.status()
        } catch let failure as StartFailure {
            var s = ServerStatus(profile: profile.name, phase: .failed)
            s.lastError = failure.reason
            s.hint = failure.hint
            preflightFailures[profile.name] = s
            throw StartError.preflight(failure)
        }
    }

    private func makeSupervisor(_ profile: Profile, _ command: LlamaServerCommand) throws -> ServerSupervisor {
        try ServerSupervisor(profile: profile, command: command, paths: config.paths, logSettings: config.runtime.logs, http: http,
                             keeper: keeper, clock: clock, logger: logger)
    }

    /// Everything that can be known to fail before a process exists.
    func preflight(_ profile: Profile, _ settings: LlamaServerSettings, force: Bool) async throws -> LlamaServerCommand {
        let command: LlamaServerCommand
        do {
            command = try profile.rpcWorker.map { try workerCommand(profile, $0) } ?? planner.plan(profile).command
        } catch {
            throw StartFailure(profile: profile.name, reason: "\(error)",
                               hint: "`hermes-runtime start \(profile.name) --dry-run` shows the command; `hermes-runtime doctor` checks the binary")
        }
        if let model = settings.model, !FileManager.default.fileExists(atPath: model) {
            throw StartFailure(profile: profile.name, reason: "model file \(model) does not exist",
                               hint: "fix `model:` in \(profile.source.file)")
        }
        if !PortCheck.isFree(host: command.host, port: command.port) {
            let who = PortCheck.holder(port: command.port).map { " by \($0)" } ?? ""
            throw StartFailure(profile: profile.name, reason: "port \(command.port) on \(command.host) is in use\(who)",
                               hint: "stop what holds it or change `port:` in \(profile.source.file)")
        }
        // Workers first: a main's fit check counts their free memory, which only a running worker tells.
        let workers = try await prepareWorkers(of: profile)
        if !force, profile.llamaServer != nil, let fitCheck, let refusal = await fitCheck(profile, settings, workers.memory) {
            await stopWorkers(workers.startedHere)
            throw StartFailure(profile: profile.name, reason: refusal.reason,
                               hint: (refusal.hint.map { $0 + "; " } ?? "") + "or pass --force to start it anyway")
        }
        return command
    }

    public func stop(_ name: String, grace: Double = 10) async -> ServerStatus? {
        let key = config.profile(named: name)?.name ?? name
        preflightFailures[key] = nil
        guard let s = supervisors[key] else { return nil }
        await saveWarm(key, s)
        await s.stop(grace: grace)
        return await s.status()
    }

    public func stopAll(grace: Double = 10) async {
        await withTaskGroup(of: Void.self) { group in
            for (name, s) in supervisors {
                group.addTask {
                    await self.saveWarm(name, s)
                    await s.stop(grace: grace)
                }
            }
        }
    }

    /// Every local profile, started or not.
    public func statuses() async -> [ServerStatus] {
        var out: [ServerStatus] = []
        for p in config.profiles.values.sorted(by: { $0.name < $1.name }) where p.isSupervised {
            out.append(withWarm(await status(of: p.name) ?? ServerStatus(profile: p.name, phase: .stopped)))
        }
        return out
    }

    public func status(of name: String) async -> ServerStatus? {
        let key = config.profile(named: name)?.name ?? name
        if let f = preflightFailures[key] { return f }
        if let s = supervisors[key] { return decorated(await s.status()) }
        if let p = config.profiles[key], let w = p.rpcWorker { return stoppedWorkerStatus(p.name, w) }
        guard let p = config.profiles[key], let settings = p.llamaServer else { return nil }
        var s = ServerStatus(profile: key, phase: .stopped)
        s.host = settings.effectiveHost
        s.port = settings.port
        s.model = settings.model
        return s
    }

    /// pid -> profile, for mapping GPU per-process use to names.
    public func pidsByProfile() async -> [Int32: String] {
        var out: [Int32: String] = [:]
        for (name, s) in supervisors { if let pid = await s.pid { out[pid] = name } }
        return out
    }

    // MARK: RuntimeStateProvider

    public nonisolated func status(ofProfile name: String) async -> LocalRuntimeStatus? {
        published.withLock { $0[name] }?.runtimeStatus
    }

    public func reportFailure(profile: String, httpStatus: Int?, reason: String) async {
        await supervisors[profile]?.reportFailure(httpStatus: httpStatus, reason: reason)
    }

    // MARK: Service

    /// Waits for graceful shutdown, then stops every server before the daemon exits, unless the daemon
    /// is handing its servers to the next one (`daemon restart`).
    public func run() async throws {
        try? await gracefulShutdown()
        if handingOff {
            logger.info("leaving every server to the next daemon")
            return
        }
        logger.info("stopping all servers")
        // Not cancelled with this task: a shutdown past its drain limit still stops every server.
        await Task { await self.stopAll() }.value
    }

    /// The next daemon takes the servers over: on shutdown this one leaves them running.
    public func handOff() {
        handingOff = true
        // The next daemon reads what each slot holds from here (WarmCaches+slotMap).
        warm?.persistSlotMaps()
    }

    public var isHandingOff: Bool { handingOff }

    /// Takes over the servers an earlier daemon left running (pid + start time + command line checked
    /// against each record): same pids, uptime and restart counts carried on. A server whose profile is
    /// no longer configured is stopped, so nothing runs that nobody supervises; records of servers that
    /// are gone are removed.
    public func adoptServers() async -> (adopted: [String], stopped: [String]) {
        var adopted: [String] = [], stopped: [String] = []
        let dir = config.paths.serversDirectory
        for f in ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() where f.hasSuffix(".json") {
            let url = dir.appendingPathComponent(f)
            guard let record = ServerRecord.read(url), record.isStillRunning else {
                try? FileManager.default.removeItem(at: url)
                try? FileManager.default.removeItem(at: url.deletingPathExtension().appendingPathExtension("exit"))
                continue
            }
            guard let profile = config.profile(named: record.profile), profile.isSupervised, supervisors[profile.name] == nil else {
                logger.warning("stopping a server whose profile is gone", metadata: ["profile": "\(record.profile)", "pid": "\(record.pid)"])
                if let kept = KeptServer.adopt(record, paths: config.paths) { await kept.terminate(grace: 10, clock: clock) }
                try? FileManager.default.removeItem(at: url)
                stopped.append(record.profile)
                continue
            }
            // The server runs the command it was started with, whatever the config says now.
            let command = LlamaServerCommand(executable: record.executable, arguments: record.arguments, environment: [:],
                                             host: record.host ?? profile.llamaServer?.effectiveHost ?? "127.0.0.1", port: record.port)
            do {
                let supervisor = try makeSupervisor(profile, command)
                await wireRPC(profile, supervisor)
                if await supervisor.adopt(record) {
                    supervisors[profile.name] = supervisor
                    if profile.llamaServer?.warmCache == true { warm?.serverAdopted(profile: profile.name, command: command, pid: record.pid) }
                    adopted.append(profile.name)
                }
            } catch {
                logger.error("cannot adopt a server", metadata: ["profile": "\(record.profile)", "error": "\(error)"])
            }
        }
        return (adopted, stopped)
    }
}
