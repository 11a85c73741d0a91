import Foundation
import HermesCore
import HermesFront
import HermesSupervisor
import Logging
import Metrics
import Synchronization

/// Carries out the on-demand decisions (`Admission`, `IdleUnload` in the core) on the supervisor
/// registry: loads a model on its first request (once, however many ask), evicts idle servers to make
/// room, unloads idle ones, and records every load and unload as an event and a metric.
///
/// It uses only the registry's `start`/`stop`; the front's in-flight counts come through `usage`.
actor OnDemandManager {
    enum UnloadReason: Sendable, Equatable, CustomStringConvertible {
        case idle, manual
        case evicted(for: String)
        var description: String {
            switch self {
            case .idle: return "idle"
            case .manual: return "manual"
            case .evicted(let name): return "evicted_for=\(name)"
            }
        }
    }

    let registry: SupervisorRegistry
    private(set) var config: HermesConfig
    let memory: ModelMemorySource
    let events: ModelEvents
    let logger: Logger
    private let epoch = ContinuousClock.now
    /// The front's usage; empty until the front is attached (a daemon whose front failed to build).
    private var usage: @Sendable () -> [String: ProfileUsage] = { [:] }

    /// A load in progress: `admitted` answers once the model was admitted and its server spawned
    /// (nil) or refused; `done` once it is ready, failed, or the wait ran out.
    private struct Job {
        let admitted: Task<LoadAnswer?, Never>
        let done: Task<LoadAnswer, Never>
    }
    private var jobs: [String: Job] = [:]
    /// Admissions run one at a time: two models judged at once would both count the same free bytes.
    private var admissionTail: Task<Void, Never>?
    /// When each server was loaded through us (its idle clock starts there), and each server's need.
    private var loadedAt: [String: ContinuousClock.Instant] = [:]
    private var held: [String: ModelMemory] = [:]
    /// A failed load is not retried by every request that follows it: for this long the failure answers.
    private var failures: [String: (at: ContinuousClock.Instant, why: String)] = [:]
    static let failureHold: Duration = .seconds(30)
    /// Unloads in progress (a warm-cache server saves its slots first, which can take seconds): the
    /// front sees these servers as stopped from the moment the unload is decided, so no new request is
    /// sent to a server about to go, and a load asked for meanwhile waits for the unload and loads again.
    private var unloads: [String: Task<ServerStatus?, Never>] = [:]
    private let unloading = Mutex(Set<String>())

    init(registry: SupervisorRegistry, config: HermesConfig, memory: @escaping ModelMemorySource, events: ModelEvents, logger: Logger) {
        self.registry = registry
        self.config = config
        self.memory = memory
        self.events = events
        var l = logger
        l[metadataKey: "component"] = "on-demand"
        self.logger = l
    }

    func attach(usage: @escaping @Sendable () -> [String: ProfileUsage]) { self.usage = usage }
    func update(config: HermesConfig) { self.config = config }

    func seconds(_ instant: ContinuousClock.Instant) -> Double {
        let d = (instant - epoch).components
        return Double(d.seconds) + Double(d.attoseconds) * 1e-18
    }

    // MARK: loading

    func ensureLoaded(profile name: String, wait: Bool) async -> LoadAnswer {
        guard let profile = config.profile(named: name), let settings = profile.llamaServer else {
            return .failed("no local profile '\(name)'")
        }
        if let going = unloads[profile.name] { _ = await going.value }
        if let s = await registry.status(ofProfile: profile.name), s.isReady { return .ready(s) }
        if let f = failures[profile.name], ContinuousClock.now - f.at < Self.failureHold { return .failed(f.why) }
        let job = jobs[profile.name] ?? startJob(profile, settings)
        if !wait {
            if let refused = await job.admitted.value { return refused }
            return .loading
        }
        return await job.done.value
    }

    private func startJob(_ profile: Profile, _ settings: LlamaServerSettings) -> Job {
        let name = profile.name
        let previous = admissionTail
        let admitted = Task { () -> LoadAnswer? in
            await previous?.value
            return await self.admitAndStart(profile, settings)
        }
        admissionTail = Task { _ = await admitted.value }
        let timeout = settings.effectiveHealth.startupTimeout
        let done = Task { () -> LoadAnswer in
            let answer: LoadAnswer
            if let refused = await admitted.value { answer = refused } else { answer = await self.waitReady(name, timeout: timeout) }
            await self.finish(name, answer)
            return answer
        }
        let job = Job(admitted: admitted, done: done)
        jobs[name] = job
        return job
    }

    private func finish(_ name: String, _ answer: LoadAnswer) {
        jobs[name] = nil
        if case .failed(let why) = answer { failures[name] = (.now, why) }
        // The idle clock starts when the model is ready, not when its load began: a load longer than
        // `idle_unload` (a loaded box, a big model) must not be unloaded under the request that waited
        // for it, before the front has even sent that request on.
        if case .ready = answer { loadedAt[name] = .now }
    }

    /// Admission, evictions and the spawn, serialized with every other admission.
    private func admitAndStart(_ profile: Profile, _ settings: LlamaServerSettings) async -> LoadAnswer? {
        let name = profile.name
        if let need = await memory(profile, settings) {
            let servers = await runningServers(except: name)
            switch Admission.decide(profile: name, neededBytes: need.neededBytes, pool: need.pool, servers: servers) {
            case .admit:
                break
            case .evict(let victims):
                for v in victims {
                    // A request may have reached it since the snapshot: then it stays, and we refuse.
                    if (usage()[v]?.inFlight ?? 0) > 0 {
                        return .noMemory("\(v) took a request while \(name) was being admitted")
                    }
                    await unload(v, reason: .evicted(for: name))
                }
            case .refuse(var shortfall):
                shortfall.breakdown = need.breakdown
                logger.notice("model refused", metadata: ["profile": "\(name)", "reason": "no_memory", "detail": "\(shortfall)"])
                events.record(event: "refused", profile: name, reason: "no_memory", detail: shortfall.description)
                return .noMemory(shortfall.description)
            }
            held[name] = need
        }
        do {
            // Admission judged the memory (with what the evictions freed): the start's own fit check,
            // which sees only the live free figure, is not asked again.
            try await registry.start(name, force: true)
        } catch {
            return .failed("\(error)")
        }
        loadedAt[name] = .now
        events.record(event: "load", profile: name, reason: "on_demand", detail: held[name].map { "\(ByteCount.format($0.neededBytes)) of \($0.pool.name)" })
        Counter(label: "hermes_model_loads_total", dimensions: [("profile", name), ("reason", "on_demand")]).increment()
        logger.notice("model loading", metadata: ["profile": "\(name)", "reason": "on_demand"])
        return nil
    }

    /// Polls the published status (a memory read, no I/O) until ready, failed or `timeout`.
    private func waitReady(_ name: String, timeout: Double) async -> LoadAnswer {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(min(max(timeout, 1), 86_400) * 1000)))
        while ContinuousClock.now < deadline {
            if let s = await registry.status(ofProfile: name) {
                if s.isReady { return .ready(s) }
                if s.phase == .failed || s.phase == .stopped {
                    let why = await registry.status(of: name)?.lastError ?? "the server \(s.phase.rawValue) while loading"
                    return .failed(why)
                }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return .loading
    }

    /// Running (or loading) servers in the admission's terms.
    private func runningServers(except name: String) async -> [Admission.Server] {
        let live = usage()
        var out: [Admission.Server] = []
        for s in await registry.statuses() where s.profile != name && [.starting, .ready, .unhealthy, .restarting].contains(s.phase) {
            guard let profile = config.profiles[s.profile], let settings = profile.llamaServer else { continue }
            if held[s.profile] == nil { held[s.profile] = await memory(profile, settings) }
            guard let m = held[s.profile] else { continue }
            let u = live[s.profile]
            out.append(Admission.Server(
                name: s.profile, pool: m.pool.name, heldBytes: m.neededBytes,
                evictable: !settings.effectivePinned && settings.effectiveLoad != .manual,
                inFlight: u?.inFlight ?? 0, lastUse: seconds(lastUse(s.profile, u, readyAt: s.readyAt))))
        }
        return out
    }

    /// The later of the front's last request and our load; for a server started otherwise, its start.
    private func lastUse(_ name: String, _ u: ProfileUsage?, readyAt: Date?) -> ContinuousClock.Instant {
        let started = loadedAt[name] ?? readyAt.map { ContinuousClock.now - .seconds(max(0, Date().timeIntervalSince($0))) } ?? epoch
        guard let used = u?.lastUse else { return started }
        return max(used, started)
    }

    // MARK: unloading

    /// True while `name` is being unloaded: the front's view of it is then "stopped".
    nonisolated func isUnloading(_ name: String) -> Bool { unloading.withLock { $0.contains(name) } }

    /// Stops a server and records why. Returns false when it was not running.
    @discardableResult
    func unload(_ name: String, reason: UnloadReason) async -> Bool {
        await takeDown(name, reason: reason, drain: 0) != nil
    }

    /// `hermes-runtime stop PROFILE`: like `daemon stop` for one server. It leaves the front's view at
    /// once (new requests burst, or wait to load it again when it loads on demand), the requests it is
    /// answering get up to `drain` seconds to finish, so their answers arrive and a warm cache saves
    /// their conversations too, and then it stops (its idle slots saved first). Nil: no such server.
    func stop(_ name: String, drain: Double) async -> ServerStatus? {
        await takeDown(config.profile(named: name)?.name ?? name, reason: nil, drain: drain)
    }

    /// `stop --all`: every running server, at once.
    func stopAll(drain: Double) async -> [ServerStatus] {
        let running = await registry.statuses().filter { $0.phase != .stopped }.map(\.profile)
        await withTaskGroup(of: Void.self) { group in
            for name in running { group.addTask { _ = await self.stop(name, drain: drain) } }
        }
        return await registry.statuses()
    }

    /// The one way a server is taken down through us. It leaves the front's view before this first
    /// suspends, so a caller that checked its in-flight count just before calling sends no new request to
    /// it; one that raced that check sees its attempt refused and is sent again after a reload
    /// (`RoutingFront.forward`). A load asked for meanwhile waits for this to end (`ensureLoaded`).
    private func takeDown(_ name: String, reason: UnloadReason?, drain: Double) async -> ServerStatus? {
        if let going = unloads[name] { return await going.value }
        unloading.withLock { _ = $0.insert(name) }
        let task = Task { await self.drainAndStop(name, reason: reason, drain: drain) }
        unloads[name] = task
        let stopped = await task.value
        unloads[name] = nil
        unloading.withLock { _ = $0.remove(name) }
        return stopped
    }

    private func drainAndStop(_ name: String, reason: UnloadReason?, drain: Double) async -> ServerStatus? {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(min(max(drain, 0), 3600) * 1000)))
        while (usage()[name]?.inFlight ?? 0) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        guard let stopped = await registry.stop(name) else { return nil }
        loadedAt[name] = nil
        held[name] = nil
        guard let reason else { return stopped }
        let reasonText = reason.description
        events.record(event: "unload", profile: name, reason: reasonText, detail: nil)
        let label: String
        if case .evicted = reason { label = "evicted" } else { label = reasonText }
        Counter(label: "hermes_model_unloads_total", dimensions: [("profile", name), ("reason", label)]).increment()
        logger.notice("model unloaded", metadata: ["profile": "\(name)", "reason": "\(reasonText)"])
        return stopped
    }

    /// `hermes-runtime unload`: refuses while requests are in flight unless `force`.
    func unloadByHand(_ name: String, force: Bool) async -> (ok: Bool, message: String) {
        let key = config.profile(named: name)?.name ?? name
        let busy = usage()[key]?.inFlight ?? 0
        if busy > 0, !force { return (false, "\(key) has \(busy) request(s) in flight; pass --force to unload it anyway") }
        return await unload(key, reason: .manual) ? (true, "\(key) unloaded") : (false, "\(key) is not running")
    }

    /// Unloads every on-demand server past its idle time; returns seconds until the next one is due.
    func unloadIdle() async -> Double? {
        let servers = await idleViews()
        let now = seconds(.now)
        for name in IdleUnload.due(servers.map(\.view), now: now) {
            // In flight again since the snapshot: the next tick sees its new last use.
            if (usage()[name]?.inFlight ?? 0) > 0 { continue }
            await unload(name, reason: .idle)
        }
        return IdleUnload.nextDeadline(servers.map(\.view), now: now).map { $0 - now }
    }

    /// Each running local server's idle figures, for the timer and for `status`.
    func idleViews() async -> [(view: IdleUnload.Server, status: ServerStatus, settings: LlamaServerSettings)] {
        let live = usage()
        var out: [(IdleUnload.Server, ServerStatus, LlamaServerSettings)] = []
        for s in await registry.statuses() where [.ready, .unhealthy].contains(s.phase) {
            guard let settings = config.profiles[s.profile]?.llamaServer else { continue }
            let u = live[s.profile]
            out.append((IdleUnload.Server(name: s.profile, idleUnload: settings.effectiveIdleUnload, inFlight: u?.inFlight ?? 0,
                                          lastUse: seconds(lastUse(s.profile, u, readyAt: s.readyAt))), s, settings))
        }
        return out
    }

    /// What `status` shows per server: last use, idle time, when it unloads.
    func usageReport() async -> [ModelUsage] {
        let nowInstant = ContinuousClock.now, nowDate = Date(), now = seconds(nowInstant)
        func date(_ t: Double) -> Date { nowDate.addingTimeInterval(t - now) }
        return await idleViews().map { v, _, settings in
            ModelUsage(profile: v.name, load: settings.effectiveLoad.rawValue, pinned: settings.effectivePinned,
                       inFlight: v.inFlight, lastUse: date(v.lastUse), idleSeconds: max(0, now - v.lastUse),
                       idleUnloadSeconds: settings.effectiveIdleUnload, unloadsAt: v.unloadsAt.map(date))
        }
    }
}
