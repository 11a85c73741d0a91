import Foundation

#if canImport(Glibc)
import Glibc
#endif

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real llama-server started by a test: the cached build and test model on a free loopback port.
/// `stop()` (or the process exiting, see `stopAllAtExit`) ends it; tests must not leave servers behind.
public final class LlamaServerProcess: @unchecked Sendable {
    public let port: Int
    public let process: Process
    public let logFile: URL
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Live servers, killed by an `atexit` hook if a test run ends without stopping them.
    nonisolated(unsafe) static var live: [Int32] = []
    static let lock = NSLock()
    nonisolated(unsafe) static var hookInstalled = false

    init(port: Int, process: Process, logFile: URL) {
        self.port = port
        self.process = process
        self.logFile = logFile
    }

    /// Starts llama-server (`-c context -np slots -t threads`) and waits until `/health` answers 200.
    /// Throws `TestEnvironment.MissingPart` when the build or model is missing (the test then FAILS).
    public static func start(context: Int, slots: Int, threads: Int = 1, extraArguments: [String] = [],
                             readyTimeout: Double = 90) async throws -> LlamaServerProcess
    {
        let binary = try TestEnvironment.llamaServer()
        let model = try TestEnvironment.testModel()
        let port = try freePort()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("hermes-llama-\(port).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["-m", model, "--host", "127.0.0.1", "--port", String(port), "-c", String(context),
                       "-np", String(slots), "-t", String(threads), "-ngl", "0", "--no-webui"] + extraArguments
        var env = ProcessInfo.processInfo.environment
        // The build keeps its shared libraries beside the binary.
        env["LD_LIBRARY_PATH"] = URL(fileURLWithPath: binary).deletingLastPathComponent().path
            + (env["LD_LIBRARY_PATH"].map { ":" + $0 } ?? "")
        p.environment = env
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        let server = LlamaServerProcess(port: port, process: p, logFile: log)
        register(p.processIdentifier)
        let deadline = Date().addingTimeInterval(readyTimeout)
        while Date() < deadline {
            if !p.isRunning {
                let tail = (try? String(contentsOf: log, encoding: .utf8))?.suffix(2000) ?? ""
                throw StartFailure(message: "llama-server exited with \(p.terminationStatus) before it was ready:\n\(tail)")
            }
            if await server.healthStatus() == 200 { return server }
            try await Task.sleep(for: .milliseconds(100))
        }
        server.stop()
        throw StartFailure(message: "llama-server was not ready within \(readyTimeout)s (log: \(log.path))")
    }

    public struct StartFailure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// `GET /health` status, or nil when nothing answers.
    public func healthStatus() async -> Int? {
        var request = URLRequest(url: URL(string: baseURL + "/health")!)
        request.timeoutInterval = 2
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return (response as? HTTPURLResponse)?.statusCode
    }

    /// SIGTERM, up to 5 s, then SIGKILL.
    public func stop() {
        let pid = process.processIdentifier
        if process.isRunning {
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(pid, SIGKILL) }
            process.waitUntilExit()
        }
        Self.lock.lock()
        Self.live.removeAll { $0 == pid }
        Self.lock.unlock()
    }

    static func register(_ pid: Int32) {
        lock.lock()
        defer { lock.unlock() }
        live.append(pid)
        if !hookInstalled {
            hookInstalled = true
            atexit {
                LlamaServerProcess.lock.lock()
                for pid in LlamaServerProcess.live { kill(pid, SIGKILL) }
                LlamaServerProcess.lock.unlock()
            }
        }
    }

    /// A loopback port nothing listens on right now (bind to 0, read it back, close).
    public static func freePort() throws -> Int {
        guard let port = LoopbackSocket.freePort() else { throw StartFailure(message: "cannot bind a loopback socket") }
        return port
    }
}

/// A TCP listener that accepts, reads the request and resets the connection (SO_LINGER 0): the
/// "connection reset before the first byte" an upstream can do. Runs on its own thread until `stop()`.
public final class ResettingListener: @unchecked Sendable {
    public let port: Int
    let fd: Int32
    let stopped = NSLock()
    var isStopped = false
    public private(set) var accepted = 0

    public init() throws {
        guard let (fd, port) = LoopbackSocket.bound(backlog: 16) else { throw LlamaServerProcess.StartFailure(message: "cannot listen on loopback") }
        self.fd = fd
        self.port = port
        let thread = Thread { [self] in self.loop() }
        thread.start()
    }

    func loop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { return }
            stopped.lock()
            accepted += 1
            stopped.unlock()
            var buffer = [UInt8](repeating: 0, count: 65536)
            _ = read(c, &buffer, buffer.count)
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(c, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            close(c)
        }
    }

    public func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
