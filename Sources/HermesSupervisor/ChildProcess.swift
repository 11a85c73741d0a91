import CProcessSpawn
import HermesCore
import Foundation

/// A child process we spawned: its pid, its process group, and an awaitable exit.
public final class ChildProcess: @unchecked Sendable {
    public let pid: Int32
    /// Field 22 of /proc/PID/stat at spawn: with the pid, it tells our process from a reused pid.
    public let startTime: UInt64
    private let lock = NSLock()
    private var exitStatus: Int32?
    private var waiters: [CheckedContinuation<Int32, Never>] = []

    init(pid: Int32) {
        self.pid = pid
        self.startTime = hermes_process_start_time(pid)
        // A blocking waitpid on a thread of its own: the exit is noticed the moment it happens, and the
        // child is reaped (no zombies).
        let thread = Thread { [self] in
            var status: Int32 = 0
            var r: Int32
            repeat { r = waitpid(pid, &status, 0) } while r < 0 && errno == EINTR
            self.finish(r < 0 ? -1 : status)
        }
        thread.name = "hermes-wait-\(pid)"
        thread.start()
    }

    private func finish(_ status: Int32) {
        let toResume: [CheckedContinuation<Int32, Never>] = lock.withLock {
            exitStatus = status
            defer { waiters.removeAll() }
            return waiters
        }
        for w in toResume { w.resume(returning: status) }
    }

    /// The raw wait status once the process has exited.
    public var hasExited: Bool { lock.withLock { exitStatus != nil } }

    /// Waits for the exit and returns the raw wait status.
    public func waitForExit() async -> Int32 {
        await withCheckedContinuation { c in
            let done: Int32? = lock.withLock {
                if let s = exitStatus { return s }
                waiters.append(c)
                return nil
            }
            if let done { c.resume(returning: done) }
        }
    }

    /// Waits at most `seconds`; true when the process exited in time.
    public func waitForExit(timeout seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if hasExited { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return hasExited
    }

    /// Signals the whole process group (the server and anything it started).
    public func signalGroup(_ signal: Int32) {
        guard !hasExited else { return }
        if kill(-pid, signal) != 0 { kill(pid, signal) }
    }

    /// SIGTERM to the group, then SIGKILL after `grace` seconds; returns once the process is gone.
    public func terminate(grace: Double) async {
        signalGroup(SIGTERM)
        if await waitForExit(timeout: grace) { return }
        signalGroup(SIGKILL)
        _ = await waitForExit()
    }

    /// "exited with code 1", "killed by signal 9".
    public static func describe(status: Int32) -> String {
        if status < 0 { return "exit status unknown" }
        let signal = status & 0x7f
        if signal == 0 { return "exited with code \((status >> 8) & 0xff)" }
        return "killed by signal \(signal)\(signal == 9 ? " (SIGKILL)" : signal == 15 ? " (SIGTERM)" : signal == 11 ? " (SIGSEGV)" : signal == 6 ? " (SIGABRT)" : "")"
    }
}

/// Spawns children from one thread that lives as long as the process.
///
/// The parent-death signal fires when the THREAD that forked the child exits, not only the process; a
/// child forked from a worker thread that is later retired would be killed while healthy.
public final class Spawner: @unchecked Sendable {
    public static let shared = Spawner()

    public struct SpawnError: UserFacingError, CustomStringConvertible {
        public var path: String
        public var errno: Int32
        public var code: String { "cannot_run" }
        public var message: String { "cannot run \(path)" }
        public var cause: String? { String(cString: strerror(errno)) }
        public var description: String { "\(message): \(cause ?? "")" }
    }

    private let thread = DedicatedThread(name: "hermes-spawner")

    private init() {}

    /// Spawns `path` in its own process group with a parent-death signal (or, with `detach`, in a new
    /// session that outlives us). stdout and stderr go to `outputFD` (closed by the caller afterwards).
    public func spawn(path: String, arguments: [String], environment: [String: String], outputFD: Int32, detach: Bool = false)
        async throws -> ChildProcess
    {
        let pid: Int32 = try await withCheckedThrowingContinuation { c in
            thread.submit {
                var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
                var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
                defer {
                    argv.forEach { free($0) }
                    envp.forEach { free($0) }
                }
                var err: Int32 = 0
                let pid = hermes_spawn(path, &argv, &envp, outputFD, detach ? 1 : 0, &err)
                if pid < 0 { c.resume(throwing: SpawnError(path: path, errno: err)) } else { c.resume(returning: pid) }
            }
        }
        return ChildProcess(pid: pid)
    }
}

/// What we know of a process by pid, read from /proc.
public enum ProcessInfoReader {
    public static func startTime(_ pid: Int32) -> UInt64 { hermes_process_start_time(pid) }

    public static func commandLine(_ pid: Int32) -> [String]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    public static func isAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// True while `pid` is a process that has not exited (a zombie nobody reaped counts as exited).
    public static func exists(_ pid: Int32) -> Bool {
        guard pid > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first ?? ""
        return state != "Z" && state != "X"
    }

    /// True when `pid` is the process that started at `startTime` and has not exited (a zombie, dead
    /// but not yet reaped by its parent, counts as exited).
    public static func isRunning(_ pid: Int32, startTime: UInt64) -> Bool {
        guard pid > 0, startTime != 0, hermes_process_start_time(pid) == startTime else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first ?? ""
        return state != "Z" && state != "X"
    }

    /// Resident memory in bytes (VmRSS), for `status` and benchmarks.
    public static func residentBytes(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first
            return kb.map { $0 * 1024 }
        }
        return nil
    }
}
