import AsyncHTTPClient
import Foundation
import HermesCore
import HermesTestSupport
import Logging
import Synchronization
import Testing

@testable import HermesSupervisor

/// Virtual time: every sleep moves the clock forward at once, so timeouts and backoffs measured in
/// minutes pass in the time the supervisor's own work takes.
final class VirtualClock: SupervisorClock {
    private let seconds = Mutex<Double>(0)
    var now: Double { seconds.withLock { $0 } }
    func sleep(seconds delay: Double) async throws {
        try Task.checkCancellation()
        seconds.withLock { $0 += max(0, delay) }
        await Task.yield()
    }
}

/// The supervisor in process, through a real keeper (the built binary) and a real child, on an injected clock.
@Suite(.serialized) struct SupervisorClockTests {
    @Test func aStartupTimeoutIsJudgedOnTheInjectedClock() async throws {
        let root = try TestEnvironment.temporaryDirectory("clock")
        let paths = RuntimePaths(configRoot: root, stateDirectory: root.appendingPathComponent("state"))
        let port = TestEnvironment.freePort()
        var s = LlamaServerSettings()
        s.port = port
        var h = HealthSettings()
        h.startupTimeout = 10
        s.health = h
        let profile = Profile(name: "never", kind: .llamaServer(s), source: SourceLocation(file: "test"))
        // A "server" that answers on its port, but never /health with 200 (a plain file server: 404).
        let python = try #require(["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) })
        let command = LlamaServerCommand(executable: python, arguments: ["-m", "http.server", String(port), "--bind", "127.0.0.1",
                                                                         "--directory", root.path],
                                         environment: [:], host: "127.0.0.1", port: port)
        let keeper = KeeperLaunch(executable: try TestEnvironment.builtProduct("hermes-runtime"), inheritedEnvironment: ProcessInfo.processInfo.environment, lease: 60)
        let clock = VirtualClock()
        let sup = try ServerSupervisor(profile: profile, command: command, paths: paths, logSettings: LogSettings(), http: .shared,
                                       keeper: keeper, clock: clock, logger: Logger(label: "test"))
        let began = Date()
        await sup.start()
        var status = await sup.status()
        // The keeper is a fresh debug process; on a busy box it can take more than 10 s to report its child.
        #expect(await TestEnvironment.eventually(timeout: 30) { await sup.pid != nil })
        let pid = try #require(await sup.pid)
        while status.phase == .starting, Date().timeIntervalSince(began) < 120 {
            try await Task.sleep(for: .milliseconds(20))
            status = await sup.status()
        }
        #expect(status.phase == .failed)
        #expect(status.lastError == "llama-server was not ready after 10 s")
        let took = Date().timeIntervalSince(began)
        print("a 10 s startup timeout judged after \(String(format: "%.1f", took)) s of real time")
        // Each virtual 20 ms is one real /health request (~2 ms idle, ~100 ms on a loaded 2-core box).
        #expect(took < 120)
        #expect(clock.now >= 10)
        #expect(await TestEnvironment.eventually(timeout: 5) { !TestEnvironment.isAlive(pid) })
    }
}
