import Foundation
import HermesCore

/// Mains and their RPC workers: local workers start and are ready before their main launches, every
/// worker's protocol version is checked first, and a lost worker restarts the mains that use it.
extension SupervisorRegistry {
    /// How long a worker on another box may take to answer HELLO before a main refuses to start.
    static let remoteHelloTimeout = 3.0

    func workerCommand(_ profile: Profile, _ w: RPCWorkerSettings) throws -> LlamaServerCommand {
        let binary = try RPCBinaryLocator.resolve(profileBinary: w.binary, llamaServerOverride: planner.binaryOverride,
                                                  environment: planner.environment)
        return .rpcWorker(profile: profile.name, settings: w, executable: binary,
                          cacheDirectory: config.paths.rpcCacheDirectory(profile.name))
    }

    /// What preparing a main's workers found: each worker's free memory (for the fit check) and the
    /// local workers this start brought up (stopped again when the main is refused).
    struct PreparedWorkers: Sendable {
        var memory: [WorkerMemory] = []
        var startedHere: [String] = []
    }

    /// Starts the local workers `main` names and waits until each is ready, then asks every worker
    /// (local or remote) its protocol version and free memory. Throws a `StartFailure` naming the worker
    /// when one is missing or speaks another version: llama-server would abort. A worker that answers
    /// HELLO but not the memory question in time is reported with the reason; the fit check counts it as 0.
    /// `relaunch` (the main's own restart): a worker on another box that does not answer is recorded as
    /// the main's lost worker, which `status` shows.
    func prepareWorkers(of main: Profile, relaunch: Bool = false) async throws -> PreparedWorkers {
        let endpoints = main.llamaServer?.rpcEndpoints ?? []
        var out = PreparedWorkers()
        for e in endpoints {
            guard let w = e.profile else { continue }
            let running = isUp(w)
            do { try await start(w) } catch {
                await stopWorkers(out.startedHere)
                throw StartFailure(profile: main.name, reason: "its rpc worker '\(w)' did not start: \(error)",
                                   hint: "`hermes-runtime status \(w)` and `hermes-runtime logs \(w)` say why")
            }
            if !running { out.startedHere.append(w) }
            do { try await waitUntilReady(worker: w, for: main.name) } catch {
                await stopWorkers(out.startedHere)
                throw error
            }
        }
        for e in endpoints {
            let timeout = e.profile == nil ? Self.remoteHelloTimeout : 1
            let name = WorkerMemory.name(of: e)
            switch await RPCClient.ask(host: e.host, port: e.port, timeout: timeout, memory: true) {
            case .success(let answer):
                if let refusal = RPCWorkerCheck.versionRefusal(worker: e, version: answer.version) {
                    await stopWorkers(out.startedHere)
                    throw StartFailure(profile: main.name, reason: refusal, hint: RPCWorkerCheck.versionHint)
                }
                if let m = answer.memory {
                    out.memory.append(WorkerMemory(name: name, freeBytes: m.free))
                } else {
                    out.memory.append(WorkerMemory(name: name, failure: answer.memoryFailure?.description ?? "no memory answer"))
                }
            case .failure(let f):
                await stopWorkers(out.startedHere)
                // Once per outage: the time is when the main first found the worker gone.
                if relaunch, e.profile == nil, remoteOutages.insert(main.name).inserted {
                    lostWorkers[main.name] = (e.description, Date())
                }
                throw StartFailure(profile: main.name, reason: "its rpc worker \(e.description) (\(e.address)): \(f)",
                                   hint: e.profile == nil ? RPCWorkerCheck.remoteHint : "`hermes-runtime logs \(e.profile ?? "")`")
            }
        }
        remoteOutages.remove(main.name)
        return out
    }

    /// Whether a profile's process runs or is on its way (not stopped, not failed).
    func isUp(_ name: String) -> Bool {
        guard let phase = supervisors[name]?.runtimeStatus.phase else { return false }
        return [.starting, .ready, .unhealthy, .restarting].contains(phase)
    }

    /// Stops local workers a refused start brought up, unless another running main uses them.
    func stopWorkers(_ names: [String]) async {
        for w in names {
            if !config.mains(using: w).contains(where: { isUp($0.name) }) { _ = await stop(w) }
        }
    }

    /// Waits for a local worker to be ready; a worker that failed or was stopped ends the wait.
    func waitUntilReady(worker: String, for main: String) async throws {
        while true {
            guard let s = supervisors[worker] else {
                throw StartFailure(profile: main, reason: "its rpc worker '\(worker)' is not running")
            }
            switch s.runtimeStatus.phase {
            case .ready: return
            case .failed, .stopped:
                let why = await s.status().lastError.map { ": \($0)" } ?? ""
                throw StartFailure(profile: main, reason: "its rpc worker '\(worker)' is \(s.runtimeStatus.phase.rawValue)\(why)",
                                   hint: "`hermes-runtime logs \(worker)`")
            default:
                try await clock.sleep(seconds: 0.05)
            }
        }
    }

    /// A worker's supervisor tells its mains when it is lost; a main waits for its workers before
    /// every launch, restarts included.
    func wireRPC(_ profile: Profile, _ supervisor: ServerSupervisor) async {
        let name = profile.name
        if let w = profile.rpcWorker {
            let cache = config.paths.rpcCacheDirectory(name)
            let cap = w.effectiveTensorCacheMax
            var gate: (@Sendable () async throws -> Void)?
            if w.effectiveTensorCache { gate = { @Sendable in TensorCacheTrim.trim(cache, cap: cap) } }
            await supervisor.setHooks(gate: gate) { phase in
                guard phase == .restarting || phase == .failed else { return }
                Task { await self.workerLost(name) }
            }
        } else if !(profile.llamaServer?.rpcEndpoints ?? []).isEmpty {
            await supervisor.setHooks(gate: { _ = try await self.prepareWorkers(of: profile, relaunch: true) }, observer: nil)
        }
    }

    func workerLost(_ worker: String) async {
        let at = Date()
        for main in config.mains(using: worker) {
            lostWorkers[main.name] = (worker, at)
            await supervisors[main.name]?.restartForLostWorker(worker)
        }
    }

    /// What only the registry knows: a worker's kind (no HTTP: nothing scrapes or probes it) and a
    /// main's lost worker.
    func decorated(_ status: ServerStatus) -> ServerStatus {
        var s = status
        if config.profiles[status.profile]?.rpcWorker != nil { s.kind = "rpc-worker" }
        guard let lost = lostWorkers[status.profile] else { return s }
        s.lostWorker = lost.worker
        s.lostWorkerAt = lost.at
        return s
    }

    func stoppedWorkerStatus(_ name: String, _ w: RPCWorkerSettings) -> ServerStatus {
        var s = ServerStatus(profile: name, phase: .stopped)
        s.kind = "rpc-worker"
        s.host = w.effectiveAddress
        s.port = w.effectivePort
        return s
    }
}

/// The judgements on a worker's answer that `start` and `doctor` share.
public enum RPCWorkerCheck {
    /// nil when llama-server will accept the worker, else why not, naming the worker and both versions.
    public static func versionRefusal(worker e: RPCEndpoint, version: RPCVersion, ours: RPCVersion = RPCProtocol.ours) -> String? {
        guard !version.isCompatible(with: ours) else { return nil }
        return "its rpc worker \(e.description) (\(e.address)) speaks RPC protocol \(version), this llama-server speaks \(ours): "
            + "llama-server would abort"
    }

    public static let versionHint = "run the same llama.cpp build on every box (scripts/setup.sh builds b11434)"
    public static let remoteHint = "start hermes-runtime on that box with an rpc-worker profile (load: always) and check it with `hermes-runtime doctor` there"
}
