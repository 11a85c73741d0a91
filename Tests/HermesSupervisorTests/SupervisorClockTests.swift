import AsyncHTTPClient
import Foundation
import HermesCore
import HermesTestSupport
import Logging
import Synchronization
import Testing

@testable import HermesSupervisor

/// Virtual time: every sleep moves the clock forward at once, by at least `step`, so timeouts and
/// backoffs measured in minutes pass in a few dozen turns of the supervisor's own loop, whatever the
/// real time each turn takes on a loaded machine.
final class VirtualClock: SupervisorClock {
    private let seconds = Mutex<Double>(0)
    let step: Double
    init(step: Double = 0) { self.step = step }
    var now: Double { seconds.withLock { $0 } }
    func sleep(seconds delay: Double) async throws {
        try Task.checkCancellation()
        seconds.withLock { $0 += max(step, delay) }
        await Task.yield()
    }
}

/// The supervisor in process, through a real keeper (the built binary) and a real child, on an injected clock.
@Suite(.serialized, .realProcesses) struct SupervisorClockTests {
    @Test func aStartupTimeoutIsJudgedOnTheInjectedClock() async throws {
        let root = try TestEnvironment.temporaryDirectory("clock")
        let paths = RuntimePaths(configRoot: root, stateDirectory: root.appendingPathComponent("state"))
        let port = TestEnvironment.freePort()
        var s = LlamaServerSettings()
        s.port = port
        var h = HealthSettings()
        // Ten minutes: judged on the real clock this test would take that long.
        h.startupTimeout = 600
        s.health = h
        let profile = Profile(name: "never", kind: .llamaServer(s), source: SourceLocation(file: "test"))
        // A "server" that answers on its port, but never /health with 200 (a plain file server: 404).
        let python = try #require(["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) })
        let command = LlamaServerCommand(executable: python, arguments: ["-m", "http.server", String(port), "--bind", "127.0.0.1",
                                                                         "--directory", root.path],
                                         environment: [:], host: "127.0.0.1", port: port)
        // No daemon holds the lock here, so the keeper's lease runs from the start: long enough that only
        // the injected clock's timeout can end this start, however slow the real turns are under load.
        let keeper = KeeperLaunch(executable: try TestEnvironment.builtProduct("hermes-runtime"), inheritedEnvironment: ProcessInfo.processInfo.environment, lease: 3600)
        // Each turn of the readiness loop (a real /health request, then a sleep) is 20 virtual seconds:
        // 30 turns, however slow each real request is.
        let clock = VirtualClock(step: 20)
        let sup = try ServerSupervisor(profile: profile, command: command, paths: paths, logSettings: LogSettings(), http: .shared,
                                       keeper: keeper, clock: clock, logger: Logger(label: "test"))
        let began = Date()
        await sup.start()
        var status = await sup.status()
        // The keeper is a fresh debug process; on a busy box it can take many seconds to report its child.
        #expect(await TestEnvironment.eventually { await sup.pid != nil })
        let pid = try #require(await sup.pid)
        while status.phase == .starting, Date().timeIntervalSince(began) < 600 {
            try await Task.sleep(for: .milliseconds(20))
            status = await sup.status()
        }
        #expect(status.phase == .failed)
        #expect(status.lastError == "llama-server was not ready after 600 s")
        let took = Date().timeIntervalSince(began)
        print("a 600 s startup timeout judged after \(String(format: "%.1f", took)) s of real time")
        // Judged on the real clock it could not have been reached before 600 s had passed.
        #expect(took < 600)
        #expect(clock.now >= 600)
        // The stop's grace also runs on the virtual clock: one step, then SIGKILL.
        #expect(await TestEnvironment.eventually { !TestEnvironment.isAlive(pid) })
    }
}
