import Foundation
import HermesCore

/// What differs when the supervised process is a `ggml-rpc-server` (an rpc-worker profile) rather than
/// a llama-server, and the hooks by which a main waits for its workers.
///
/// A worker is ready once it answers HELLO. After that it is judged by its process alone: it serves one
/// client at a time, so while its main is attached a probe would hang or take the connection. Any exit
/// is a failure, whatever its code (an unknown flag prints usage and exits 0).
extension ServerSupervisor {
    nonisolated var isRPCWorker: Bool { profile.rpcWorker != nil }
    /// A main that names RPC workers in `rpc:`.
    nonisolated var usesRPCWorkers: Bool { !(profile.llamaServer?.rpcEndpoints ?? []).isEmpty }

    static func restartSettings(of profile: Profile) -> ResolvedRestart {
        profile.rpcWorker?.effectiveRestart ?? (profile.llamaServer ?? LlamaServerSettings()).effectiveRestart
    }

    /// One readiness poll: `/health` answering 200 for a llama-server, a HELLO answered for a worker.
    /// A worker adopted from an earlier daemon was ready then and may have its main attached, which a
    /// HELLO would wait behind: its running process is its readiness.
    func answersReadiness(_ healthURL: String) async -> Bool {
        if isRPCWorker {
            if let c = child, c.adopted { return c.isRunning }
            if case .success = await RPCClient.ask(host: command.host, port: command.port, timeout: 1, memory: false) { return true }
            return false
        }
        return await get(healthURL, timeout: 1)?.status == 200
    }

    /// Sets the hooks: `gate` runs before every launch (a throw is the launch's failure), `observer`
    /// hears every phase change.
    func setHooks(gate: (@Sendable () async throws -> Void)?, observer: (@Sendable (LocalRuntimeStatus.Phase) -> Void)?) {
        launchGate = gate
        phaseObserver = observer
    }

    /// A worker this main uses was lost: the main will abort or hang on its next use, so end it now;
    /// the run loop restarts it, and its launch gate waits for the worker to be back.
    func restartForLostWorker(_ worker: String) async {
        guard let c = child, c.isRunning else { return }
        wedgeReason = "its rpc worker '\(worker)' was lost"
        sink.note("rpc worker '\(worker)' lost: restarting once it is back")
        await c.terminate(grace: 2, clock: clock)
    }
}
