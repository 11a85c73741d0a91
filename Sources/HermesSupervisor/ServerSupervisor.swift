import AsyncHTTPClient
import Foundation
import HermesCore
import Logging
import NIOCore
import Synchronization

/// Supervises one llama-server: launch, readiness, liveness, restart with backoff, stop.
///
/// The decisions (restart or give up, healthy or wedged) are the pure `RestartTracker` and `HealthJudge`
/// from the core; this actor carries them out. A start that never reaches ready is not retried: that is a
/// configuration problem (a rejected flag, a busy port, too little memory) and the person who ran `start`
/// gets the reason and the log at once. Once a server has been ready, a crash or a hang restarts it.
public actor ServerSupervisor {
    public let profile: Profile
    public let command: LlamaServerCommand
    let settings: LlamaServerSettings
    let health: HealthSettings
    let sink: LogSink
    let stateFile: URL
    let http: HTTPClient
    let logger: Logger

    private var phase: LocalRuntimeStatus.Phase = .stopped { didSet { publish() } }
    private var child: ChildProcess?
    private var startedAt: Date?
    private var readyAt: Date?
    private var everReady = false
    private var tracker: RestartTracker
    private var judge: HealthJudge
    private var lastError: String?
    private var hint: String?
    private var failureLines: [String]?
    private var slotsTotal: Int? { didSet { publish() } }
    private var slotsBusy: Int? { didSet { publish() } }
    private var contextPerSlot: Int? { didSet { publish() } }
    private var pendingRestart: String?
    /// Set by the liveness loop before it kills a wedged server, so the restart names the hang, not the kill.
    private var wedgeReason: String?
    private var runTask: Task<Void, Never>?
    private var stopping = false
    private let clock = ContinuousClock()
    private let epoch = ContinuousClock.now

    public init(profile: Profile, command: LlamaServerCommand, paths: RuntimePaths, logSettings: LogSettings, http: HTTPClient, logger: Logger) throws {
        self.profile = profile
        self.command = command
        self.settings = profile.llamaServer ?? LlamaServerSettings()
        self.health = settings.effectiveHealth
        self.sink = try LogSink(file: paths.serverLog(profile.name), settings: logSettings)
        self.stateFile = paths.serversDirectory.appendingPathComponent("\(profile.name).json")
        self.http = http
        var l = logger
        l[metadataKey: "profile"] = "\(profile.name)"
        self.logger = l
        self.tracker = RestartTracker(settings: settings.effectiveRestart)
        self.judge = HealthJudge(failures: health.failures ?? 3)
        var first = ServerStatus(profile: profile.name, phase: .stopped, restarts: 0)
        first.host = command.host
        first.port = command.port
        self.published = Mutex(first.runtimeStatus)
    }

    private var now: Double { (clock.now - epoch).seconds }

    // MARK: commands

    /// Launches the server and supervises it in the background; returns at once.
    public func start() {
        guard runTask == nil || phase == .failed || phase == .stopped else { return }
        stopping = false
        lastError = nil
        hint = nil
        failureLines = nil
        everReady = false
        tracker = RestartTracker(settings: settings.effectiveRestart)
        phase = .starting
        runTask = Task { await self.runLoop() }
    }

    /// Stops the server: SIGTERM to its process group, SIGKILL after `grace`; returns when it is gone.
    public func stop(grace: Double = 10) async {
        stopping = true
        if let child { await child.terminate(grace: grace) }
        await runTask?.value
        runTask = nil
        child = nil
        phase = .stopped
        slotsBusy = nil
        try? FileManager.default.removeItem(at: stateFile)
    }

    /// The front saw a real request fail on this server.
    public func reportFailure(httpStatus: Int?, reason: String) {
        guard phase == .ready else { return }
        let what = httpStatus.map { "a request answered \($0)" } ?? "a request failed: \(reason)"
        if case .restart(let r) = judge.probeFailed(what) { pendingRestart = r } else { phase = .unhealthy }
    }

    public func status() -> ServerStatus {
        var s = ServerStatus(profile: profile.name, phase: phase, restarts: tracker.total)
        s.pid = child.flatMap { $0.hasExited ? nil : $0.pid }
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

    public var pid: Int32? { child.flatMap { $0.hasExited ? nil : $0.pid } }

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
        let r = s.runtimeStatus
        published.withLock { $0 = r }
    }

    // MARK: the loop

    private func runLoop() async {
        while !stopping {
            let cause: String
            do {
                let c = try await launch()
                switch await waitUntilReady(c) {
                case .ready:
                    await becameReady()
                    cause = await monitor(c)
                case .exited(let status):
                    cause = "llama-server \(ChildProcess.describe(status: status)) before it was ready"
                case .timedOut:
                    await c.terminate(grace: 3)
                    cause = "llama-server was not ready after \(Int(health.startupTimeout ?? 300)) s"
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
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
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

    private func launch() async throws -> ChildProcess {
        let writeFD = try sink.attachPipe()
        defer { close(writeFD) }
        sink.note("starting: \(command.shellLine)")
        let env = command.mergedEnvironment(over: ProcessInfo.processInfo.environment)
        let c = try await Spawner.shared.spawn(path: command.executable, arguments: command.arguments, environment: env, outputFD: writeFD)
        child = c
        startedAt = Date()
        readyAt = nil
        judge.reset()
        pendingRestart = nil
        writeStateFile(c)
        logger.info("spawned", metadata: ["pid": "\(c.pid)"])
        return c
    }

    private func writeStateFile(_ c: ChildProcess) {
        let record = ServerRecord(profile: profile.name, pid: c.pid, startTime: c.startTime, executable: command.executable,
                                  arguments: command.arguments, port: command.port)
        try? FileManager.default.createDirectory(at: stateFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        if let data = try? JSONEncoder().encode(record) { try? data.write(to: stateFile, options: .atomic) }
    }

    enum Readiness { case ready, exited(Int32), timedOut, stopped }

    /// Polls `/health` every 20 ms (503 while loading is normal) so readiness is seen within ~20 ms.
    private func waitUntilReady(_ c: ChildProcess) async -> Readiness {
        let deadline = clock.now + .milliseconds(Int((health.startupTimeout ?? 300) * 1000))
        let url = "\(baseURL)\(health.path ?? "/health")"
        while clock.now < deadline {
            if stopping { return .stopped }
            if c.hasExited { return .exited(await c.waitForExit()) }
            if let code = await get(url, timeout: 1)?.status, code == 200 { return .ready }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return .timedOut
    }

    private func becameReady() async {
        readyAt = Date()
        everReady = true
        tracker.ready(at: now)
        await refreshSlots()
        phase = .ready
        lastError = nil
        logger.info("ready", metadata: ["slots": "\(slotsTotal ?? 0)", "n_ctx_slot": "\(contextPerSlot ?? 0)"])
        sink.note("ready on \(command.host):\(command.port)")
    }

    /// Waits for the first of: the process exits, or the liveness checks judge it wedged (then kills it).
    private func monitor(_ c: ChildProcess) async -> String {
        let outcome = await withTaskGroup(of: String.self) { group in
            group.addTask { ChildProcess.describe(status: await c.waitForExit()) }
            group.addTask { await self.livenessLoop(c) }
            let first = await group.next() ?? "stopped"
            group.cancelAll()
            return first
        }
        defer { wedgeReason = nil }
        return wedgeReason ?? outcome
    }

    /// `/health` every `interval`, a one-token generation every `generation_interval`, and the front's
    /// failure reports; enough consecutive failures kill the server so the loop restarts it.
    private func livenessLoop(_ c: ChildProcess) async -> String {
        var nextHealth = clock.now + .milliseconds(Int((health.interval ?? 5) * 1000))
        let genEvery = health.generationInterval ?? 60
        var nextGeneration = clock.now + .milliseconds(Int(max(genEvery, 1) * 1000))
        while !Task.isCancelled, !c.hasExited {
            if let reason = pendingRestart {
                pendingRestart = nil
                return await kill(c, wedged: reason)
            }
            if clock.now >= nextHealth {
                nextHealth = clock.now + .milliseconds(Int((health.interval ?? 5) * 1000))
                let failure = await probeHealth()
                if let reason = record(failure) { return await kill(c, wedged: reason) }
            }
            if genEvery > 0, clock.now >= nextGeneration {
                nextGeneration = clock.now + .milliseconds(Int(genEvery * 1000))
                // A busy server is producing tokens; a probe would only queue behind real work.
                if let total = slotsTotal, let busy = slotsBusy, busy >= total {} else {
                    let failure = await probeGeneration()
                    if let reason = record(failure) { return await kill(c, wedged: reason) }
                }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return "stopped"
    }

    private func kill(_ c: ChildProcess, wedged reason: String) async -> String {
        wedgeReason = "wedged: \(reason)"
        // A hung server may not act on SIGTERM; SIGKILL follows soon.
        await c.terminate(grace: 2)
        return wedgeReason ?? reason
    }

    /// Feeds a probe result to the judge; returns a reason when the server must be restarted.
    private func record(_ failure: String?) -> String? {
        guard !stopping else { return nil }
        guard let failure else {
            _ = judge.probeSucceeded()
            if phase == .unhealthy { phase = .ready }
            return nil
        }
        switch judge.probeFailed(failure) {
        case .healthy: return nil
        case .unhealthy:
            phase = .unhealthy
            sink.note("probe failed: \(failure)")
            return nil
        case .restart(let reason): return reason
        }
    }

    private nonisolated var baseURL: String { "http://\(command.host):\(command.port)" }

    private func probeHealth() async -> String? {
        let timeout = health.timeout ?? 3
        guard let r = await get("\(baseURL)\(health.path ?? "/health")", timeout: timeout) else {
            return "health check got no answer within \(timeout) s"
        }
        guard r.status == 200 else { return "health answered \(r.status)" }
        await refreshSlots()
        return nil
    }

    private func probeGeneration() async -> String? {
        let body = #"{"messages":[{"role":"user","content":"ping"}],"max_tokens":1,"temperature":0}"#
        let timeout = max(health.timeout ?? 3, 30)
        guard let r = await post("\(baseURL)/v1/chat/completions", body: body, timeout: timeout) else {
            return "a one-token generation got no answer within \(Int(timeout)) s"
        }
        return r.status == 200 ? nil : "a one-token generation answered \(r.status)"
    }

    /// Live slot facts: `/slots` gives each slot's `n_ctx` and `is_processing`; `/props` the totals.
    private func refreshSlots() async {
        if let r = await get("\(baseURL)/slots", timeout: 2), r.status == 200,
            let slots = (try? JSONSerialization.jsonObject(with: r.body)) as? [[String: Any]], !slots.isEmpty
        {
            slotsTotal = slots.count
            contextPerSlot = slots.compactMap { $0["n_ctx"] as? Int }.min()
            slotsBusy = slots.filter { ($0["is_processing"] as? Bool) == true }.count
            return
        }
        if let r = await get("\(baseURL)/props", timeout: 2), r.status == 200,
            let props = (try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any]
        {
            slotsTotal = props["total_slots"] as? Int
            contextPerSlot = (props["default_generation_settings"] as? [String: Any])?["n_ctx"] as? Int
        }
    }

    // MARK: HTTP

    struct Answer {
        var status: Int
        var body: Data
    }

    private nonisolated func get(_ url: String, timeout: Double) async -> Answer? {
        await send(HTTPClientRequest(url: url), timeout: timeout)
    }

    private nonisolated func post(_ url: String, body: String, timeout: Double) async -> Answer? {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        return await send(request, timeout: timeout)
    }

    private nonisolated func send(_ request: HTTPClientRequest, timeout: Double) async -> Answer? {
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            let body = try await response.body.collect(upTo: 4 << 20)
            return Answer(status: Int(response.status.code), body: Data(body.readableBytesView))
        } catch {
            return nil
        }
    }
}

/// What we record of a server we spawned, to recognise it after a daemon restart (pid + start time +
/// command line, so a reused pid is never taken for ours).
public struct ServerRecord: Codable, Sendable, Equatable {
    public var profile: String
    public var pid: Int32
    public var startTime: UInt64
    public var executable: String
    public var arguments: [String]
    public var port: Int

    /// True when `pid` is still this very process.
    public var isStillRunning: Bool {
        guard ProcessInfoReader.isAlive(pid), ProcessInfoReader.startTime(pid) == startTime else { return false }
        guard let cmd = ProcessInfoReader.commandLine(pid) else { return false }
        return Array(cmd.dropFirst()) == arguments
    }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
