import Foundation
import HermesCore
import Synchronization

/// The signal a keeper was asked to stop with, set by its handler (a lock-free atomic is safe there).
private let keeperSignal = Atomic<Int32>(0)

/// `hermes-runtime keeper`: the small process that owns one llama-server, conmon-style.
///
/// The daemon starts one keeper per server in a session of its own, so the keeper outlives the daemon;
/// the keeper spawns the server with a parent-death signal, so the server never outlives the keeper.
/// The keeper reads no network input and does little: it hands the server its log file, waits for it,
/// rotates the log, writes what it knows to `STATE/servers/NAME.json` and how the server ended to
/// `NAME.exit`, and stops the server when asked (SIGTERM, SIGINT, SIGHUP) or when no daemon has held
/// the config root's lock for `lease` seconds. The daemon does everything else: probes, restarts,
/// the front.
public struct Keeper: Sendable {
    public var profile: String
    public var host: String
    public var port: Int
    public var stateDirectory: URL
    public var logFile: URL
    public var logSettings: LogSettings
    public var lease: Int
    public var executable: String
    public var arguments: [String]
    /// How long a server may take to stop on SIGTERM before SIGKILL.
    public var grace: Double = 10

    public init(profile: String, host: String, port: Int, stateDirectory: URL, logFile: URL, logSettings: LogSettings, lease: Int,
                executable: String, arguments: [String]) {
        self.profile = profile
        self.host = host
        self.port = port
        self.stateDirectory = stateDirectory
        self.logFile = logFile
        self.logSettings = logSettings
        self.lease = lease
        self.executable = executable
        self.arguments = arguments
    }

    var serversDirectory: URL { stateDirectory.appendingPathComponent("servers") }

    /// Runs the server until it ends or is stopped; returns the keeper's exit code.
    public func run() async -> Int32 {
        for s in [SIGTERM, SIGINT, SIGHUP] { _ = signal(s) { keeperSignal.store($0, ordering: .relaxed) } }
        _ = signal(SIGPIPE, SIG_IGN)
        let exitFile = ServerRecord.exitFile(profile, in: serversDirectory)
        try? FileManager.default.removeItem(at: exitFile)
        try? FileManager.default.createDirectory(at: logFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        let logFD = open(logFile.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard logFD >= 0 else {
            finish(ServerExit(status: -1, reason: "cannot open \(logFile.path): \(String(cString: strerror(errno)))"), exitFile)
            return 1
        }
        defer { close(logFD) }
        let child: ChildProcess
        do {
            child = try await Spawner.shared.spawn(path: executable, arguments: arguments, environment: ProcessInfo.processInfo.environment,
                                                   outputFD: logFD)
        } catch {
            note(logFD, "\(error)")
            finish(ServerExit(status: -1, reason: "\(error)"), exitFile)
            return 1
        }
        var record = ServerRecord(profile: profile, pid: child.pid, startTime: child.startTime, executable: executable,
                                  arguments: arguments, port: port)
        record.host = host
        record.keeperPid = getpid()
        record.keeperStartTime = ProcessInfoReader.startTime(getpid())
        record.startedAt = Date()
        record.write(to: ServerRecord.file(profile, in: serversDirectory))

        let lockFD = open(stateDirectory.appendingPathComponent("daemon.lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        defer { if lockFD >= 0 { close(lockFD) } }
        var daemonGoneSince: ContinuousClock.Instant?
        var nextSecond = ContinuousClock.now
        while true {
            if child.hasExited {
                let status = await child.waitForExit()
                finish(ServerExit(status: status, reason: "llama-server \(ChildProcess.describe(status: status))"), exitFile)
                return 0
            }
            let sig = keeperSignal.exchange(0, ordering: .relaxed)
            if sig != 0 {
                note(logFD, "keeper: signal \(sig): stopping llama-server")
                return await stop(child, reason: "stopped by signal \(sig)", exitFile)
            }
            let now = ContinuousClock.now
            if now >= nextSecond {
                nextSecond = now + .seconds(1)
                LogRotation.rotateIfNeeded(path: logFile.path, settings: logSettings)
                if lockFD >= 0, Self.daemonAbsent(lockFD: lockFD) {
                    let since = daemonGoneSince ?? now
                    daemonGoneSince = since
                    if now - since >= .seconds(lease) {
                        note(logFD, "keeper: no daemon for \(lease) s (daemon.lease): stopping llama-server")
                        return await stop(child, reason: "no daemon came back within \(lease) s", exitFile)
                    }
                } else {
                    daemonGoneSince = nil
                }
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// True when no daemon holds the config root's lock. Taking it for an instant is how to ask; a
    /// daemon starting in that instant retries (see DaemonLock).
    static func daemonAbsent(lockFD: Int32) -> Bool {
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else { return false }
        flock(lockFD, LOCK_UN)
        return true
    }

    private func stop(_ child: ChildProcess, reason: String, _ exitFile: URL) async -> Int32 {
        await child.terminate(grace: grace)
        let status = await child.waitForExit()
        finish(ServerExit(status: status, reason: "\(reason): llama-server \(ChildProcess.describe(status: status))"), exitFile)
        return 0
    }

    private func finish(_ exit: ServerExit, _ exitFile: URL) {
        try? FileManager.default.createDirectory(at: serversDirectory, withIntermediateDirectories: true)
        if let data = try? JSONEncoder().encode(exit) { try? data.write(to: exitFile, options: .atomic) }
    }

    private func note(_ fd: Int32, _ text: String) {
        let line = Array("[hermes-runtime] \(text)\n".utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
