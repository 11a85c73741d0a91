import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HermesTestSupport
import Testing

/// Model files are outside input (issue #10): a FIFO named as the model used to wedge the daemon (its
/// header was read on an event loop), and a 60 MB tensor table stalled routing. Now `start` of such a
/// profile fails at once with the reader's reason, while the front and `status` keep answering.
@Suite(.serialized, .realProcesses) struct ModelFileCLITests {
    func get(_ url: String) async -> (status: Int, body: String) {
        let r = await HTTPExchange.send("GET", url)
        return (r.status, r.body)
    }

    @Test func aFIFOOrAHugeTensorTableFailsItsStartWhileTheRestKeepsAnswering() async throws {
        let dir = try TestEnvironment.temporaryDirectory("model-files")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("piped.gguf").path
        #expect(mkfifo(fifo, 0o600) == 0)
        // 1.5 M tensor entries announced in a 60 MB file (sparse: the header is all that is written).
        let table = dir.appendingPathComponent("table.gguf").path
        var header = Array("GGUF".utf8)
        withUnsafeBytes(of: UInt32(3).littleEndian) { header += $0 }
        withUnsafeBytes(of: UInt64(1_500_000).littleEndian) { header += $0 }
        withUnsafeBytes(of: UInt64(0).littleEndian) { header += $0 }
        #expect(FileManager.default.createFile(atPath: table, contents: Data(header)))
        #expect(truncate(table, 60 << 20) == 0)

        let frontPort = TestEnvironment.freePort()
        let local = { (model: String, port: Int) in
            "kind: llama-server\nmodel: \(model)\nport: \(port)\ncontext: 2048\n"
        }
        let root = try TestEnvironment.configRoot(
            profiles: [
                "demo": try TestEnvironment.demoProfile(port: TestEnvironment.freePort(), context: 2048),
                "piped": local(fifo, TestEnvironment.freePort()),
                "table": local(table, TestEnvironment.freePort()),
            ],
            runtime: "front:\n  listen: 127.0.0.1:\(frontPort)\n  default: demo\n")
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }
        let started = try await cli.run(["start", "demo"])
        #expect(started.status == 0, "\(started.output)")

        let clock = ContinuousClock()
        for (profile, reason) in [("piped", "FIFO"), ("table", "the tensor count at offset 8 is 1500000, above the limit of 65536")] {
            let begin = clock.now
            let refused = try await cli.run(["start", profile])
            #expect(refused.status != 0, "\(refused.output)")
            #expect(refused.output.contains("the model file cannot be used"), "\(refused.output)")
            #expect(refused.output.contains(reason), "\(refused.output)")
            // The reason is the reader's up-front check, not its 10 s time cap: a wedged read would end in
            // that cap's message (or this run's 30 s timeout), never in these words.
            print("\(profile) refused in \(clock.now - begin)")
            // The daemon kept serving: its front answers and `status` reports the refusal.
            let health = await get("http://127.0.0.1:\(frontPort)/health")
            #expect(health.status == 200, "\(health)")
            let status = try await cli.run(["status", "--json"])
            #expect(status.status == 0, "\(status.output)")
            #expect(status.stdout.contains("demo") && status.stdout.contains(profile), "\(status.stdout)")
        }
    }
}
