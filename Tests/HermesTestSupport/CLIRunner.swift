import Foundation

/// Runs the built `hermes-runtime` binary as a user would, on a config root of the test's own.
public struct CLIRunner: Sendable {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var output: String { stdout + stderr }
    }

    public var binary: String
    public let configRoot: URL
    public var environment: [String: String]

    public init(configRoot: URL) throws {
        binary = try TestEnvironment.builtProduct("hermes-runtime")
        self.configRoot = configRoot
        var env = ProcessInfo.processInfo.environment
        env["HERMES_RUNTIME_HOME"] = configRoot.path
        env.removeValue(forKey: "HERMES_RUNTIME_STATE")
        env["HERMES_RUNTIME_LLAMA_SERVER"] = try TestEnvironment.llamaServer()
        environment = env
    }

    public var stateDirectory: URL { configRoot.appendingPathComponent("state") }

    /// The end of every test that started a daemon, whether it passed or not: `daemon stop`, then
    /// SIGKILL to whatever still names this config root (a guard, worker or keeper that a failed or
    /// timed-out stop left behind; a keeper's llama-server dies with it), so nothing outlives the test.
    public func shutDown() {
        _ = try? runBlocking(["daemon", "stop"])
        TestEnvironment.killProcesses(mentioning: configRoot.path)
    }

    /// Runs `hermes-runtime ARGS`, bounded by `timeout` seconds (then killed and reported as status -1).
    /// `launcher` runs it through another command first, e.g. `[simulate-gfx1151.sh, --gtt-total, 1G, --]`.
    ///
    /// The waiting happens on a thread of its own: Swift Testing runs tests on a pool of as many threads
    /// as cores (two here), and a test blocking one for a whole `start` starves every other test's tasks.
    @discardableResult
    public func run(_ arguments: [String], launcher: [String] = [], timeout: Double = TestEnvironment.hangBound) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Swift.Result { try self.runBlocking(arguments, launcher: launcher, timeout: timeout) })
            }
        }
    }

    /// `run`, blocking the calling thread.
    @discardableResult
    public func runBlocking(_ arguments: [String], launcher: [String] = [], timeout: Double = TestEnvironment.hangBound) throws -> Result {
        let p = Process()
        let command = launcher + [binary] + arguments
        p.executableURL = URL(fileURLWithPath: command[0])
        p.arguments = Array(command.dropFirst())
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let outData = ReadAll(out.fileHandleForReading), errData = ReadAll(err.fileHandleForReading)
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if p.isRunning {
            p.terminate()
            p.waitUntilExit()
            return Result(status: -1, stdout: outData.wait(), stderr: errData.wait() + "\n[timed out after \(timeout) s]")
        }
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: outData.wait(), stderr: errData.wait())
    }
}

/// Reads a pipe to EOF on a thread of its own, so a chatty child never blocks on a full pipe.
final class ReadAll: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)
    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }
    func wait() -> String {
        done.wait()
        done.signal()
        return String(decoding: data, as: UTF8.self)
    }
}

extension TestEnvironment {
    /// A TCP port nothing listens on right now (bound and released).
    public static func freePort() -> Int {
        LoopbackSocket.freePort() ?? 0
    }

    /// True while `pid` is a live process (a zombie waiting to be reaped counts as gone).
    public static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// SIGKILL to every process (not this one) whose command line mentions `text`, then waits until they
    /// are gone. Cleanup for tests: a daemon's guard and worker name their config root, a keeper its state
    /// directory.
    public static func killProcesses(mentioning text: String) {
        let me = getpid()
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }.filter { pid in
            guard pid != me, let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(text)
        }
        for pid in pids { kill(pid, SIGKILL) }
        _ = eventuallyBlocking { pids.allSatisfy { !isAlive($0) } }
    }

    /// Waits up to `timeout` seconds for `condition`, sleeping without holding a thread.
    public static func eventually(timeout: Double = hangBound, _ condition: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }

    /// Waits for `process` to exit on a thread of its own: never on one of Swift Testing's pool threads
    /// (as many as cores), where a wait of seconds stalls every test running in this process.
    public static func exit(of process: Process) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                process.waitUntilExit()
                c.resume()
            }
        }
    }

    /// Runs `work` on a thread of its own and waits for it: for timings a starved test pool must not stretch.
    public static func onThread(_ work: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                work()
                c.resume()
            }
        }
    }

    /// When `condition` first held, checked every 20 ms on a thread of its own for up to `timeout`
    /// seconds (nil if it never did): a time a starved test pool cannot stretch.
    public static func firstTime(timeout: Double = hangBound, _ condition: @escaping @Sendable () -> Bool) async -> Date? {
        await withCheckedContinuation { c in
            Thread.detachNewThread {
                let deadline = Date().addingTimeInterval(timeout)
                while Date() < deadline {
                    if condition() { return c.resume(returning: Date()) }
                    Thread.sleep(forTimeInterval: 0.02)
                }
                c.resume(returning: condition() ? Date() : nil)
            }
        }
    }

    /// Waits up to `timeout` seconds for `condition`, blocking the calling thread.
    public static func eventuallyBlocking(timeout: Double = hangBound, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }

    /// A config root with `runtime.yaml` (front on a free port) and the given profiles.
    public static func configRoot(profiles: [String: String], runtime: String? = nil) throws -> URL {
        let root = try temporaryDirectory("root")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("runtimes"), withIntermediateDirectories: true)
        let front = runtime ?? "front:\n  listen: 127.0.0.1:\(freePort())\n"
        try front.write(to: root.appendingPathComponent("runtime.yaml"), atomically: true, encoding: .utf8)
        for (name, text) in profiles {
            try text.write(to: root.appendingPathComponent("runtimes/\(name).yaml"), atomically: true, encoding: .utf8)
        }
        return root
    }

    /// A small CPU profile for the test model on `port`.
    public static func demoProfile(port: Int, context: Int = 1024, slots: Int = 1, extra: String = "") throws -> String {
        """
        kind: llama-server
        model: \(try testModel())
        port: \(port)
        context: \(context)
        slots: \(slots)
        threads: 1
        gpu_layers: 0
        health:
          startup_timeout: 300s
          interval: 1s
          generation_interval: 0
        restart:
          backoff: [0.2]
        \(extra)
        """
    }
}
