import Foundation
import HermesCore

/// The daemon's handle on a llama-server that a keeper owns: one the daemon just launched through a new
/// keeper, or one an earlier daemon left running and this one adopted.
///
/// The daemon is not the server's parent, so it cannot wait for it: it watches the pid (with its start
/// time, so a reused pid is never taken for ours) and reads how it ended from the keeper's exit file.
public final class KeptServer: Sendable {
    public let record: ServerRecord
    /// The keeper, when this daemon spawned it (it is our child then, and this reaps it).
    let keeper: ChildProcess?
    let exitFile: URL
    public let adopted: Bool

    init(record: ServerRecord, keeper: ChildProcess?, exitFile: URL, adopted: Bool) {
        self.record = record
        self.keeper = keeper
        self.exitFile = exitFile
        self.adopted = adopted
    }

    public var pid: Int32 { record.pid }
    public var isRunning: Bool { ProcessInfoReader.isRunning(record.pid, startTime: record.startTime) }

    public struct LaunchError: UserFacingError, CustomStringConvertible {
        public var message: String
        public var code: String { "keeper_failed" }
        public var description: String { message }
    }

    /// Starts a keeper (`hermes-runtime keeper ...`, in a session of its own) that spawns the server,
    /// and returns once the keeper has recorded the server's pid.
    static func launch(profile: String, command: LlamaServerCommand, environment: [String: String], paths: RuntimePaths,
                       logSettings: LogSettings, lease: Int, logFD: Int32, keeperExecutable: String) async throws -> KeptServer {
        let dir = paths.serversDirectory
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let recordFile = ServerRecord.file(profile, in: dir), exitFile = ServerRecord.exitFile(profile, in: dir)
        try? FileManager.default.removeItem(at: recordFile)
        try? FileManager.default.removeItem(at: exitFile)
        let args = ["keeper", "--profile", profile, "--host", command.host, "--port", String(command.port),
                    "--state", paths.stateDirectory.path, "--log", paths.serverLog(profile).path,
                    "--log-max-bytes", String(logSettings.maxBytes), "--log-keep", String(logSettings.keep),
                    "--lease", String(lease), "--", command.executable] + command.arguments
        let keeper = try await Spawner.shared.spawn(path: keeperExecutable, arguments: args, environment: environment,
                                                    outputFD: logFD, detach: true)
        // The keeper writes the record right after the spawn; an exec failure ends it with an exit file.
        for _ in 0..<1000 {
            if let r = ServerRecord.read(recordFile), r.keeperPid == keeper.pid {
                return KeptServer(record: r, keeper: keeper, exitFile: exitFile, adopted: false)
            }
            if keeper.hasExited {
                let status = await keeper.waitForExit()
                throw LaunchError(message: readExit(exitFile)?.reason ?? "the keeper \(ChildProcess.describe(status: status))")
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        keeper.signalGroup(SIGTERM)
        throw LaunchError(message: "the keeper did not start llama-server within 10 s")
    }

    /// A server an earlier daemon left running, when the record still names the very process.
    static func adopt(_ record: ServerRecord, paths: RuntimePaths) -> KeptServer? {
        guard record.isStillRunning else { return nil }
        return KeptServer(record: record, keeper: nil, exitFile: ServerRecord.exitFile(record.profile, in: paths.serversDirectory),
                          adopted: true)
    }

    /// Waits until the server has ended; says how (from the keeper's exit file when it wrote one).
    public func waitForExit(clock: any SupervisorClock) async -> String {
        while isRunning { try? await clock.sleep(seconds: 0.05) }
        // The keeper writes the exit file right after reaping the server.
        for _ in 0..<20 {
            if let e = Self.readExit(exitFile) { return e.reason }
            if let keeper, keeper.hasExited { break }
            if keeper == nil, let k = record.keeperPid, let t = record.keeperStartTime, !ProcessInfoReader.isRunning(k, startTime: t) { break }
            try? await clock.sleep(seconds: 0.01)
        }
        return Self.readExit(exitFile)?.reason ?? "llama-server exited (its keeper is gone: status unknown)"
    }

    /// SIGTERM to the server's process group, SIGKILL after `grace`; returns once it is gone. The keeper
    /// sees the exit and ends by itself.
    public func terminate(grace: Double, clock: any SupervisorClock) async {
        signalGroup(SIGTERM)
        let deadline = clock.now + max(0, grace)
        while isRunning, clock.now < deadline { try? await clock.sleep(seconds: 0.02) }
        if isRunning { signalGroup(SIGKILL) }
        while isRunning { try? await clock.sleep(seconds: 0.02) }
        if let keeper { _ = await keeper.waitForExit(timeout: 2) }
    }

    func signalGroup(_ signal: Int32) {
        guard isRunning else { return }
        if kill(-record.pid, signal) != 0 { kill(record.pid, signal) }
    }

    static func readExit(_ url: URL) -> ServerExit? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return try? JSONDecoder().decode(ServerExit.self, from: data)
    }
}

/// The time the supervisor reads and sleeps on: the real monotonic clock in the daemon, a manual one in
/// tests, so restart backoff and probe intervals are tested without real sleeps.
public protocol SupervisorClock: Sendable {
    /// Seconds on a monotonic scale.
    var now: Double { get }
    func sleep(seconds: Double) async throws
}

/// The monotonic clock of the machine.
public struct SystemSupervisorClock: SupervisorClock {
    private let epoch = ContinuousClock.now
    public init() {}
    public var now: Double { (ContinuousClock.now - epoch).seconds }
    public func sleep(seconds: Double) async throws {
        let ms = seconds.isFinite ? Int(min(max(seconds, 0), 86_400) * 1000) : 0
        try await Task.sleep(for: .milliseconds(ms))
    }
}
