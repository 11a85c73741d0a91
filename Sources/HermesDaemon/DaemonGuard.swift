import Foundation
import HermesCore
import HermesSupervisor
import Logging
import Synchronization

/// The last signal the guard was sent, set by its handler (a lock-free atomic is safe there).
private let guardSignal = Atomic<Int32>(0)

/// `hermes-runtime serve`: a small guard that runs the daemon proper (`serve --worker`) as its child and
/// starts a new one when it dies (crash, kill -9, out-of-memory kill) within a fraction of a second.
///
/// The guard reads no input at all: it forwards SIGTERM/SIGINT (stop) and SIGHUP (reload) to the
/// worker and decides what to do when the worker ends (`WorkerRespawnPolicy`). The servers do not
/// depend on it: each belongs to its keeper, and the new worker adopts them. The worker dies with the
/// guard (parent-death signal), so a killed guard never leaves a daemon nobody restarts; its servers
/// then stop themselves when their lease runs out, unless systemd starts a new guard first.
public enum DaemonGuard {
    /// Tells a worker the pid of the guard that will restart it (and that `daemon restart` can work).
    public static let guardPidVariable = "HERMES_RUNTIME_GUARD_PID"

    /// Runs workers until one ends on purpose; returns the guard's exit code.
    public static func run(workerArguments: [String], logger: Logger) async -> Int32 {
        for s in [SIGTERM, SIGINT, SIGHUP] { _ = signal(s) { guardSignal.store($0, ordering: .relaxed) } }
        let executable = Daemon.selfExecutable()
        var environment = ProcessInfo.processInfo.environment
        environment[guardPidVariable] = String(getpid())
        let clock = SystemSupervisorClock()
        var policy = WorkerRespawnPolicy()
        var stopping = false
        while true {
            let worker: ChildProcess
            do {
                // stdout and stderr: the guard's stderr (the daemon log, or the journal).
                worker = try await Spawner.shared.spawn(path: executable, arguments: workerArguments, environment: environment, outputFD: 2)
            } catch {
                logger.critical("cannot start the daemon", metadata: ["error": "\(error)"])
                return 1
            }
            while !worker.hasExited {
                stopping = forward(to: worker.pid) || stopping
                try? await clock.sleep(seconds: 0.02)
            }
            let status = await worker.waitForExit()
            let exit: WorkerRespawnPolicy.Exit = (status & 0x7f) == 0 ? .code((status >> 8) & 0xff) : .signal(status & 0x7f)
            switch policy.workerEnded(exit, at: clock.now, stopping: stopping) {
            case .exit(let code, let reason):
                if code != 0 { logger.notice("guard exiting", metadata: ["reason": "\(reason)", "worker": "\(WorkerRespawnPolicy.describe(exit))"]) }
                return code
            case .respawn(let delay):
                if exit != .code(WorkerRespawnPolicy.handoffCode) {
                    logger.error("the daemon died; starting a new one", metadata: ["pid": "\(worker.pid)", "how": "\(WorkerRespawnPolicy.describe(exit))",
                                                                                   "delay": "\(delay)"])
                }
                let until = clock.now + delay
                while clock.now < until {
                    let sig = guardSignal.exchange(0, ordering: .relaxed)
                    if sig == SIGTERM || sig == SIGINT || stopping { return 0 }
                    try? await clock.sleep(seconds: 0.02)
                }
            }
        }
    }

    /// Passes a pending signal on to the worker; true when it was a request to stop.
    private static func forward(to pid: Int32) -> Bool {
        let sig = guardSignal.exchange(0, ordering: .relaxed)
        switch sig {
        case SIGTERM, SIGINT:
            kill(pid, SIGTERM)
            return true
        case SIGHUP:
            kill(pid, SIGHUP)
            return false
        default:
            return false
        }
    }
}
