import ArgumentParser
import AsyncHTTPClient
import Foundation
import HermesCore
import HermesSupervisor
import Logging

/// `hermes-bench supervisor`: how fast the supervisor notices readiness and recovers from a crash, and
/// how much memory the daemon holds, against the real llama-server and test model.
struct SupervisorBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "supervisor", abstract: "Readiness delay, crash-to-ready, daemon RSS.")

    @Option(help: "Runs per figure.") var runs = 5
    @Option(help: "Write results as JSON here.") var output = "bench-results/supervisor.json"
    @Option(help: "The built hermes-runtime binary (for the daemon RSS figures).") var binary = ".build/release/hermes-runtime"

    struct Results: Codable {
        var readinessDelayMs: [Double]
        var spawnToReadyMs: [Double]
        var crashToReadyMs: [Double]
        var daemonRSSIdleMiB: Double?
        var daemonRSSTwoServersMiB: Double?
    }

    func run() async throws {
        let (env, llama, model) = try TestServer.locate()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hermes-bench-\(getpid())")
        let paths = RuntimePaths(configRoot: root, stateDirectory: root.appendingPathComponent("state"))
        let probe = DialectProbe(cacheDirectory: paths.dialectCacheDirectory)
        let dialect = try probe.dialect(of: llama)
        var results = Results(readinessDelayMs: [], spawnToReadyMs: [], crashToReadyMs: [])

        for i in 0..<runs {
            var s = LlamaServerSettings()
            s.model = model
            s.port = 18_500 + i
            s.context = 1024
            s.threads = 1
            s.gpuLayers = "0"
            var h = HealthSettings()
            h.generationInterval = 0
            h.interval = 1
            s.health = h
            var r = RestartSettings()
            r.backoff = [0]
            s.restart = r
            let profile = Profile(name: "bench", kind: .llamaServer(s), source: SourceLocation(file: "bench"))
            let command = try LlamaServerCommand.build(profile: "bench", settings: s, executable: llama, dialect: dialect)
            let sup = try ServerSupervisor(profile: profile, command: command, paths: paths, logSettings: LogSettings(),
                                           http: .shared, keeper: KeeperLaunch(
                                               // The keeper is a mode of hermes-runtime, built next to this binary.
                                               executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
                                                   .deletingLastPathComponent().appendingPathComponent("hermes-runtime").path,
                                               inheritedEnvironment: ProcessInfo.processInfo.environment, lease: 60),
                                           logger: Logger(label: "bench"))
            let t0 = ContinuousClock.now
            await sup.start()
            // An independent 1 ms poller records when /health first answers 200.
            let firstHealthy = Task { () -> ContinuousClock.Instant? in
                while !Task.isCancelled {
                    if await healthy(port: s.port!) { return ContinuousClock.now }
                    try? await Task.sleep(for: .milliseconds(1))
                }
                return nil
            }
            let readySeen = await waitFor(sup) { $0.phase == .ready }
            let healthyAt = await firstHealthy.value
            if let healthyAt, let readySeen {
                results.readinessDelayMs.append(max(0, ms(readySeen - healthyAt)))
                results.spawnToReadyMs.append(ms(readySeen - t0))
            }
            // Crash: SIGKILL, then until ready again (backoff 0, so this is the mechanics + model load).
            if let pid = await sup.pid {
                let t1 = ContinuousClock.now
                kill(pid, SIGKILL)
                if let again = await waitFor(sup, { $0.phase == .ready && $0.pid != pid && $0.pid != nil }) {
                    results.crashToReadyMs.append(ms(again - t1))
                }
            }
            await sup.stop()
        }

        // Daemon RSS: the real binary, idle and with two servers.
        if FileManager.default.isExecutableFile(atPath: binary) {
            let p1 = 18_600, p2 = 18_601
            try FileManager.default.createDirectory(at: root.appendingPathComponent("runtimes"), withIntermediateDirectories: true)
            try "front:\n  listen: 127.0.0.1:18602\n".write(to: root.appendingPathComponent("runtime.yaml"), atomically: true, encoding: .utf8)
            for (name, port) in [("a", p1), ("b", p2)] {
                try "kind: llama-server\nmodel: \(model)\nport: \(port)\ncontext: 1024\nthreads: 1\ngpu_layers: 0\n"
                    .write(to: root.appendingPathComponent("runtimes/\(name).yaml"), atomically: true, encoding: .utf8)
            }
            let cliEnv = env.merging(["HERMES_RUNTIME_HOME": root.path]) { $1 }
            _ = runCLI(binary, ["start", "a", "--no-wait"], cliEnv)
            _ = runCLI(binary, ["stop", "a"], cliEnv)
            try await Task.sleep(for: .seconds(2))
            let daemonPid = Int32((try? String(contentsOf: paths.daemonPidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            results.daemonRSSIdleMiB = ProcessInfoReader.residentBytes(daemonPid).map { Double($0) / 1_048_576 }
            _ = runCLI(binary, ["start", "a"], cliEnv)
            _ = runCLI(binary, ["start", "b"], cliEnv)
            try await Task.sleep(for: .seconds(2))
            results.daemonRSSTwoServersMiB = ProcessInfoReader.residentBytes(daemonPid).map { Double($0) / 1_048_576 }
            _ = runCLI(binary, ["daemon", "stop"], cliEnv)
        }
        try? FileManager.default.removeItem(at: root)

        func row(_ name: String, _ v: [Double]) -> String {
            let s = v.sorted()
            guard !s.isEmpty else { return "| \(name) | - | - | - | 0 |" }
            return String(format: "| %@ | %.1f | %.1f | %.1f | %d |", name, s.first!, s[s.count / 2], s.last!, s.count)
        }
        print("| figure (ms) | min | median | max | runs |")
        print("|---|---|---|---|---|")
        print(row("readiness detection delay after /health first 200", results.readinessDelayMs))
        print(row("spawn to ready (gemma 270M, CPU)", results.spawnToReadyMs))
        print(row("crash (SIGKILL) to ready, backoff 0", results.crashToReadyMs))
        print(String(format: "daemon RSS idle: %.1f MiB; with two servers supervised: %.1f MiB",
                     results.daemonRSSIdleMiB ?? -1, results.daemonRSSTwoServersMiB ?? -1))
        let out = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        try e.encode(results).write(to: out)
        print("results written to \(out.path)")
    }

    func ms(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15
    }

    func healthy(port: Int) async -> Bool {
        guard let r = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/health"), timeout: .milliseconds(500))
        else { return false }
        return r.status.code == 200
    }

    func waitFor(_ sup: ServerSupervisor, _ condition: (ServerStatus) -> Bool) async -> ContinuousClock.Instant? {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if condition(await sup.status()) { return ContinuousClock.now }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return nil
    }

    func runCLI(_ binary: String, _ args: [String], _ env: [String: String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}
