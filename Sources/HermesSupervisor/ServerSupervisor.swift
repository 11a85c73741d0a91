import AsyncHTTPClient
import Foundation
import HermesCore
import Logging
import NIOCore
import Synchronization

/// How a supervisor launches servers: through a keeper (the same binary, `keeper` mode) with a clean
/// environment, and how long a keeper waits for a daemon that went away.
public struct KeeperLaunch: Sendable {
    /// The hermes-runtime binary that runs `keeper` (normally this very binary).
    public var executable: String
    /// The daemon's environment, from which the server's clean base is taken (`ServerEnvironment`).
    public var inheritedEnvironment: [String: String]
    public var lease: Int

    public init(executable: String, inheritedEnvironment: [String: String], lease: Int) {
        self.executable = executable
        self.inheritedEnvironment = inheritedEnvironment
        self.lease = lease
    }
}

/// Supervises one llama-server: launch, readiness, liveness, restart with backoff, stop.
///
/// The server belongs to a keeper process (see `Keeper`), so it outlives this daemon; a new daemon
/// adopts it (`adopt`). The decisions (restart or give up, healthy or wedged) are the pure
/// `RestartTracker` and `HealthJudge` from the core; this actor carries them out on an injected clock.
/// A start that never reaches ready is not retried here: that is a configuration problem (a rejected
/// flag, a busy port, too little memory) and the person who ran `start` gets the reason and the log at
/// once (`serve --start` retries it with the restart backoff). Once a server has been ready, a crash
/// or a hang restarts it.
public actor ServerSupervisor {
    public let profile: Profile
    public let command: LlamaServerCommand
    let settings: LlamaServerSettings
    let health: ResolvedHealth
    let sink: LogSink
    let paths: RuntimePaths
    let logSettings: LogSettings
    let stateFile: URL
    let http: HTTPClient
    let logger: Logger
    let keeperLaunch: KeeperLaunch
    let clock: any SupervisorClock

    private var phase: LocalRuntimeStatus.Phase = .stopped { didSet { publish() } }
    var child: KeptServer?
    private var startedAt: Date?
    private var readyAt: Date?
    private var everReady = false
    private var tracker: RestartTracker
    private var judge: HealthJudge
    /// Generation probes on their own: `/health` answers while a stuck inference loop does not, so a
    /// health success between two failed generations must not clear them.
    private var generationJudge: HealthJudge
    /// The server log already says the generation probe is being skipped (said once per run of skips).
    private var probeSkipNoted = false
    private var lastError: String?
    private var hint: String?
    private var failureLines: [String]?
    private var slotsTotal: Int? { didSet { publish() } }
    private var slotsBusy: Int? { didSet { publish() } }
    private var contextPerSlot: Int? { didSet { publish() } }
    private var pendingRestart: String?
    /// Set by the liveness loop before it kills a wedged server, so the restart names the hang, not the kill.
    var wedgeReason: String?
    private var runTask: Task<Void, Never>?
    private var stopping = false
    /// Awaited before every launch (a main waits for its RPC workers here; ServerSupervisor+rpc.swift).
    var launchGate: (@Sendable () async throws -> Void)?
    /// Told every phase change (the registry restarts a worker's mains when the worker is lost).
    var phaseObserver: (@Sendable (LocalRuntimeStatus.Phase) -> Void)?

    public init(profile: Profile, command: LlamaServerCommand, paths: RuntimePaths, logSettings: LogSettings, http: HTTPClient,
                keeper: KeeperLaunch, clock: any SupervisorClock = SystemSupervisorClock(), logger: Logger) throws {
        self.profile = profile
        self.command = command
        self.settings = profile.llamaServer ?? LlamaServerSettings()
        self.health = settings.effectiveHealth
        self.sink = try LogSink(file: paths.serverLog(profile.name), settings: logSettings)
        self.paths = paths
        self.logSettings = logSettings
        self.stateFile = ServerRecord.file(profile.name, in: paths.serversDirectory)
        self.http = http
        self.keeperLaunch = keeper
        self.clock = clock
        var l = logger
        l[metadataKey: "profile"] = "\(profile.name)"
        self.logger = l
        self.tracker = RestartTracker(settings: Self.restartSettings(of: profile))
        self.judge = HealthJudge(failures: health.failures)
        self.generationJudge = HealthJudge(failures: health.failures)
        var first = ServerStatus(profile: profile.name, phase: .stopped, restarts: 0)
        first.host = command.host
        first.port = command.port
        self.published = Mutex(first.runtimeStatus)
    }

    private var now: Double { clock.now }

    private func sleep(_ seconds: Double) async { try? await clock.sleep(seconds: seconds) }

    // MARK: commands

    /// Launches the server and supervises it in the background; returns at once.
    public func start() {
        guard runTask == nil || phase == .failed || phase == .stopped else { return }
        stopping = false
        lastError = nil
        hint = nil
        failureLines = nil
        everReady = false
        tracker = RestartTracker(settings: Self.restartSettings(of: profile))
        phase = .starting
        runTask = Task { await self.runLoop(adopting: nil) }
    }

    /// Takes over a server an earlier daemon left running (its keeper still owns it): same pid, the
    /// uptime and restart count carried on, probing resumed. False when the record no longer names a
    /// running server.
    public func adopt(_ record: ServerRecord) -> Bool {
        guard runTask == nil, let kept = KeptServer.adopt(record, paths: paths) else { return false }
        stopping = false
        everReady = record.readyAt != nil
        startedAt = record.startedAt
        readyAt = record.readyAt
        tracker = RestartTracker(settings: Self.restartSettings(of: profile), restoring: record.restarts ?? 0)
        child = kept
        phase = .starting
        sink.note("adopted by daemon pid \(getpid()) (llama-server pid \(record.pid))")
        logger.info("adopted", metadata: ["pid": "\(record.pid)"])
        runTask = Task { await self.runLoop(adopting: kept) }
        return true
    }

    /// Stops the server: SIGTERM to its process group, SIGKILL after `grace`; returns when it is gone.
    public func stop(grace: Double = 10) async {
        stopping = true
        if let child { await child.terminate(grace: grace, clock: clock) }
        await runTask?.value
        runTask = nil
        child = nil
        phase = .stopped
        slotsBusy = nil
        try? FileManager.default.removeItem(at: stateFile)
        try? FileManager.default.removeItem(at: ServerRecord.exitFile(profile.name, in: paths.serversDirectory))
    }

    /// The front saw a real request fail on this server.
    public func reportFailure(httpStatus: Int?, reason: String) {
        guard phase == .ready || phase == .unhealthy else { return }
        let what = httpStatus.map { "a request answered \($0)" } ?? "a request failed: \(reason)"
        switch judge.probeFailed(what) {
        case .restart(let r): pendingRestart = r
        case .unhealthy: phase = .unhealthy
        case .degraded, .healthy: break
        }
    }

    public func status() -> ServerStatus {
        var s = ServerStatus(profile: profile.name, phase: phase, restarts: tracker.total)
        s.pid = child.flatMap { $0.isRunning ? $0.pid : nil }
        s.adopted = child?.adopted == true ? true : nil
        s.keeperPid = child?.record.keeperPid
        s.host = command.host
        s.port = command.port
        s.model = settings.model
        s.startedAt = startedAt
        s.readyAt = readyAt
        s.slotsTotal = slotsTotal
        s.slotsBusy = slotsBusy
        s.contextPerSlot = contextPerSlot
        s.lastError = lastError
        s.hint = hint
        s.lastLogLines = failureLines
        s.logFile = sink.file.path
        s.command = command.shellLine
        if let pid = s.pid { s.residentBytes = ProcessInfoReader.residentBytes(pid) }
        return s
    }

    public var pid: Int32? { child.flatMap { $0.isRunning ? $0.pid : nil } }

    /// What the front reads on every request, without a hop onto this actor (and without the
    /// `/proc` read `status()` does): republished whenever the phase or the slot figures change.
    public nonisolated var runtimeStatus: LocalRuntimeStatus { published.withLock { $0 } }

    private nonisolated let published: Mutex<LocalRuntimeStatus>

    private func publish() {
        var s = ServerStatus(profile: profile.name, phase: phase, restarts: 0)
        s.host = command.host
        s.port = command.port
        s.slotsTotal = slotsTotal
        s.slotsBusy = slotsBusy
        s.contextPerSlot = contextPerSlot
        s.pid = child?.pid
        let r = s.runtimeStatus
        published.withLock { $0 = r }
        // The observer hears changes of phase, not every republish of the slot figures.
        if phase != observedPhase {
            observedPhase = phase
            phaseObserver?(phase)
        }
    }

    /// The last phase the observer heard.
    private var observedPhase: LocalRuntimeStatus.Phase?

    // MARK: the loop

    private func runLoop(adopting: KeptServer?) async {
        var adopted = adopting
        while !stopping {
            let cause: String
            do {
                let c: KeptServer
                if let a = adopted {
                    c = a
                    adopted = nil
                } else {
                    c = try await launch()
                }
                switch await waitUntilReady(c) {
                case .ready:
                    await becameReady()
                    cause = await monitor(c)
                case .exited(let why):
                    cause = "\(why) before it was ready"
                case .timedOut:
                    await c.terminate(grace: 3, clock: clock)
                    cause = "llama-server was not ready after \(Int(health.startupTimeout)) s"
                case .stopped:
                    return
                }
            } catch {
                cause = "\(error)"
            }
            if stopping { return }
            logger.warning("server down", metadata: ["cause": "\(cause)"])
            sink.note(cause)
            slotsBusy = nil
            guard everReady else {
                fail(cause)
                return
            }
            switch tracker.failed(at: now, cause: cause) {
            case .restart(let delay, let attempt):
                phase = .restarting
                lastError = cause
                sink.note("restart \(attempt) in \(delay) s")
                logger.info("restarting", metadata: ["delay": "\(delay)", "attempt": "\(attempt)"])
                await sleep(delay)
            case .giveUp(let reason):
                fail(reason)
                return
            }
        }
    }

    private func fail(_ reason: String) {
        phase = .failed
        lastError = reason
        failureLines = sink.lastLines(20)
        hint = StartFailureHint.hint(forLog: failureLines ?? [])
        child = nil
        try? FileManager.default.removeItem(at: stateFile)
    }

    private func launch() async throws -> KeptServer {
        try await launchGate?()
        let logFD = try sink.openForAppending()
        defer { close(logFD) }
        sink.note("starting: \(command.shellLine)")
        let env = ServerEnvironment.build(inherited: keeperLaunch.inheritedEnvironment, own: command.environment)
        let c = try await KeptServer.launch(profile: profile.name, command: command, environment: env, paths: paths,
                                            logSettings: logSettings, lease: keeperLaunch.lease, logFD: logFD,
                                            keeperExecutable: keeperLaunch.executable)
        child = c
        startedAt = c.record.startedAt ?? Date()
        readyAt = nil
        judge.reset()
        generationJudge.reset()
        pendingRestart = nil
        writeStateFile()
        logger.info("spawned", metadata: ["pid": "\(c.pid)", "keeper": "\(c.record.keeperPid ?? 0)"])
        return c
    }

    /// The keeper's record plus what only the daemon knows, for the next daemon to adopt.
    private func writeStateFile() {
        guard var record = child?.record else { return }
        record.host = command.host
        record.startedAt = startedAt
        record.readyAt = readyAt
        record.restarts = tracker.total
        record.write(to: stateFile)
    }

    enum Readiness { case ready, exited(String), timedOut, stopped }

    /// Polls `/health` every 20 ms (503 while loading is normal) so readiness is seen within ~20 ms.
    private func waitUntilReady(_ c: KeptServer) async -> Readiness {
        let deadline = clock.now + (health.startupTimeout)
        let url = "\(baseURL)\(health.path)"
        while clock.now < deadline {
            if stopping { return .stopped }
            if !c.isRunning { return .exited(await c.waitForExit(clock: clock)) }
            if await answersReadiness(url) { return .ready }
            await sleep(0.02)
        }
        return .timedOut
    }

    private func becameReady() async {
        // An adopted server keeps the time it first became ready: its uptime did not stop.
        if readyAt == nil || child?.adopted != true { readyAt = Date() }
        everReady = true
        tracker.ready(at: now)
        writeStateFile()
        if !isRPCWorker { await refreshSlots() }
        phase = .ready
        lastError = nil
        logger.info("ready", metadata: ["slots": "\(slotsTotal ?? 0)", "n_ctx_slot": "\(contextPerSlot ?? 0)"])
        sink.note("ready on \(command.host):\(command.port)")
    }

    /// Waits for the first of: the process exits, or the liveness checks judge it wedged (then kills it).
    private func monitor(_ c: KeptServer) async -> String {
        let clock = self.clock
        let outcome = await withTaskGroup(of: String.self) { group in
            group.addTask { await c.waitForExit(clock: clock) }
            // A worker serves one client, its main: any probe would hang or steal that connection.
            if !self.isRPCWorker { group.addTask { await self.livenessLoop(c) } }
            let first = await group.next() ?? "stopped"
            group.cancelAll()
            return first
        }
        defer { wedgeReason = nil }
        return wedgeReason ?? outcome
    }

    /// `/health` every `interval`, a one-token generation every `generation_interval`, and the front's
    /// failure reports; enough consecutive failures kill the server so the loop restarts it.
    private func livenessLoop(_ c: KeptServer) async -> String {
        // When to probe is a pure value (ProbeSchedule) on the supervisor's one clock; the loop sends.
        var schedule = ProbeSchedule(health, startingAt: clock.now)
        while !Task.isCancelled, c.isRunning {
            if let reason = pendingRestart {
                pendingRestart = nil
                return await kill(c, wedged: reason)
            }
            // What `/slots` said this turn, when the health step read it (the generation probe reuses it).
            var slotsNow: SlotFacts?
            if schedule.healthDue(at: clock.now) {
                let failure = await probeHealth()
                if failure == nil { slotsNow = await refreshSlots() }
                if let reason = record(failure) { return await kill(c, wedged: reason) }
            }
            // A busy server is producing tokens; a probe would only queue behind real work.
            let slotsFull = slotsTotal.map { total in slotsBusy.map { $0 >= total } ?? false } ?? false
            if schedule.generationDue(at: clock.now, slotsFull: slotsFull) {
                // The slot it runs in is read just before: the idle one holding least. When every idle
                // slot holds a conversation the probe is skipped: it would throw one away, and `/slots`
                // just answered from llama-server's task loop, so that loop is not stuck.
                let facts = if let slotsNow { slotsNow } else { await readSlots() }
                let pick = facts?.probeSlot
                if let pick, pick.holds > SlotsReport.probeDisplaces {
                    if !probeSkipNoted { sink.note("generation probe skipped: every idle slot holds a conversation (/slots answered)") }
                    probeSkipNoted = true
                    await sleep(0.05)
                    continue
                }
                probeSkipNoted = false
                let failure = await probeGeneration(slot: pick?.slot)
                if let f = failure, HealthJudge.restartsAtOnce(generationGotNoAnswer: f.noAnswer, usesRPCWorkers: usesRPCWorkers) {
                    return await kill(c, wedged: "\(f.reason) while /health answered: stuck on an rpc worker that stopped answering")
                }
                if let reason = record(failure?.reason, generation: true) { return await kill(c, wedged: reason) }
            }
            await sleep(0.05)
        }
        return "stopped"
    }

    private func kill(_ c: KeptServer, wedged reason: String) async -> String {
        wedgeReason = "wedged: \(reason)"
        // A hung server may not act on SIGTERM; SIGKILL follows soon.
        await c.terminate(grace: 2, clock: clock)
        return wedgeReason ?? reason
    }

    /// Feeds a probe result to the judge; returns a reason when the server must be restarted.
    /// `generation` feeds the generation probes' own judge.
    private func record(_ failure: String?, generation: Bool = false) -> String? {
        guard !stopping else { return nil }
        guard let failure else {
            if generation { _ = generationJudge.probeSucceeded() } else { _ = judge.probeSucceeded() }
            if phase == .unhealthy { phase = .ready }
            return nil
        }
        let verdict = generation ? generationJudge.probeFailed(failure) : judge.probeFailed(failure)
        switch verdict {
        case .healthy: return nil
        case .degraded(let n, _):
            sink.note("probe failed (\(n) in a row, \(judge.failuresAllowed) make it unhealthy): \(failure)")
            return nil
        case .unhealthy(let n, _):
            if phase != .unhealthy { logger.warning("unhealthy", metadata: ["failures": "\(n)", "last": "\(failure)"]) }
            phase = .unhealthy
            sink.note("probe failed (\(n) in a row): \(failure)")
            return nil
        case .restart(let reason): return reason
        }
    }

    /// Live slot facts (see `readSlots`); `/props` says nothing of busy slots, so those stay as they were.
    @discardableResult
    private func refreshSlots() async -> SlotFacts? {
        guard let facts = await readSlots() else { return nil }
        slotsTotal = facts.total
        contextPerSlot = facts.contextPerSlot
        if let busy = facts.busy { slotsBusy = busy }
        return facts
    }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
