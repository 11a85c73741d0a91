import Foundation
import HermesCore
import HermesTestSupport
import Logging
import Testing

@testable import HermesSupervisor

@Suite(.serialized) struct ServerRecordTests {
    func paths() throws -> RuntimePaths {
        let root = try TestEnvironment.temporaryDirectory("records")
        return RuntimePaths(configRoot: root, stateDirectory: root.appendingPathComponent("state"))
    }

    func spawnSleep() async throws -> ChildProcess {
        try await Spawner.shared.spawn(path: "/bin/sleep", arguments: ["300"], environment: [:], outputFD: -1)
    }

    func write(_ record: ServerRecord, _ paths: RuntimePaths) throws {
        try FileManager.default.createDirectory(at: paths.serversDirectory, withIntermediateDirectories: true)
        try JSONEncoder().encode(record).write(to: paths.serversDirectory.appendingPathComponent("\(record.profile).json"))
    }

    @Test func aServerLeftBehindIsRecognisedForAdoption() async throws {
        let p = try paths()
        let child = try await spawnSleep()
        defer { child.signalGroup(SIGKILL) }
        #expect(child.startTime > 0)
        let record = ServerRecord(profile: "left", pid: child.pid, startTime: child.startTime, executable: "/bin/sleep", arguments: ["300"], port: 1)
        try write(record, p)
        let read = try #require(ServerRecord.read(ServerRecord.file("left", in: p.serversDirectory)))
        #expect(read == record)
        let kept = try #require(KeptServer.adopt(read, paths: p))
        #expect(kept.adopted)
        #expect(kept.isRunning)
        await kept.terminate(grace: 5, clock: SystemSupervisorClock())
        #expect(await child.waitForExit(timeout: 5))
        #expect(!kept.isRunning)
    }

    @Test func aReusedPidIsNeverAdopted() async throws {
        let p = try paths()
        let child = try await spawnSleep()
        defer { child.signalGroup(SIGKILL) }
        // Same pid, another start time: not the process we recorded.
        let reused = ServerRecord(profile: "reused", pid: child.pid, startTime: child.startTime + 1, executable: "/bin/sleep", arguments: ["300"], port: 1)
        // Same pid and start time, another command line: not ours either.
        let other = ServerRecord(profile: "other", pid: child.pid, startTime: child.startTime, executable: "/bin/sleep", arguments: ["5"], port: 1)
        #expect(KeptServer.adopt(reused, paths: p) == nil)
        #expect(KeptServer.adopt(other, paths: p) == nil)
        #expect(TestEnvironment.isAlive(child.pid))
    }

    @Test func aZombieIsNotRunning() async throws {
        // Exits at once; nobody reaps it until waitForExit's thread does, and a zombie is not a server.
        let child = try await Spawner.shared.spawn(path: "/bin/sh", arguments: ["-c", "exit 0"], environment: [:], outputFD: -1)
        let start = child.startTime
        _ = await child.waitForExit()
        #expect(!ProcessInfoReader.isRunning(child.pid, startTime: start))
    }

    @Test func exitStatusesReadLikeAPersonWouldSayThem() async throws {
        let child = try await Spawner.shared.spawn(path: "/bin/sh", arguments: ["-c", "exit 3"], environment: [:], outputFD: -1)
        #expect(ChildProcess.describe(status: await child.waitForExit()) == "exited with code 3")
        let killed = try await spawnSleep()
        killed.signalGroup(SIGKILL)
        #expect(ChildProcess.describe(status: await killed.waitForExit()) == "killed by signal 9 (SIGKILL)")
        await #expect(throws: Spawner.SpawnError.self) {
            _ = try await Spawner.shared.spawn(path: "/nonexistent/llama-server", arguments: [], environment: [:], outputFD: -1)
        }
    }

    @Test func logSinkRotatesBySizeAndKeepsTheTail() throws {
        let dir = try TestEnvironment.temporaryDirectory("logs")
        var settings = LogSettings()
        settings.maxBytes = 4096
        settings.keep = 2
        let sink = try LogSink(file: dir.appendingPathComponent("p.log"), settings: settings)
        for i in 0..<400 { sink.note("line \(i) " + String(repeating: "x", count: 40)) }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(files == ["p.log", "p.log.1", "p.log.2"])
        for f in files {
            // Copy-then-truncate rotates once a file has passed the limit: by at most one line.
            let size = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(f).path)[.size] as? Int ?? 0
            #expect(size <= 4096 + 100)
        }
        #expect(sink.lastLines(1).first?.hasPrefix("[hermes-runtime] line 399") == true)
    }
}
