import Foundation
import HermesTestSupport
import Synchronization
import Testing

/// RPC workers through the built `hermes-runtime`, against the real `ggml-rpc-server` and llama-server:
/// the test model split over two loopback workers (CPU), a worker killed, a worker of another version.
@Suite(.serialized, .realProcesses) struct RPCWorkerCLITests {
    struct Status: Decodable {
        struct Server: Decodable {
            var profile: String
            var kind: String?
            var phase: String
            var pid: Int32?
            var startedAt: Date?
            var readyAt: Date?
            var lostWorker: String?
            var lostWorkerAt: Date?
            var lastError: String?
        }
        var servers: [Server]
    }

    func status(_ cli: CLIRunner) async throws -> [String: Status.Server] {
        let r = try await cli.run(["status", "--json"])
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = f.date(from: text) ?? ISO8601DateFormatter().date(from: text) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: text))
        }
        return Dictionary(try d.decode(Status.self, from: Data(r.stdout.utf8)).servers.map { ($0.profile, $0) }) { a, _ in a }
    }

    static func worker(port: Int) -> String {
        "kind: rpc-worker\nport: \(port)\ndevice: CPU\nthreads: 1\nrestart:\n  backoff: [0.2]\n"
    }

    static func main(port: Int, rpc: String, extra: String = "") throws -> String {
        """
        kind: llama-server
        model: \(try TestEnvironment.testModel())
        port: \(port)
        context: 1024
        slots: 1
        threads: 1
        gpu_layers: all
        rpc: \(rpc)
        args: ["-ts", "1,1", "--fit", "off"]
        health:
          startup_timeout: 300s
          interval: 1s
          generation_interval: 0
        restart:
          backoff: [0.2]
        \(extra)
        """
    }

    static let chat = #"{"model":"main","messages":[{"role":"user","content":"Say hi"}],"max_tokens":4}"#

    @Test func aMainSplitOverTwoWorkersAnswersAndALostWorkerIsARestart() async throws {
        // Five distinct ports: two free ports drawn one after the other may be the same one, and a
        // clash is a config error (port used twice) before anything starts.
        var ports = Set<Int>()
        while ports.count < 5 { ports.insert(TestEnvironment.freePort()) }
        let p = ports.sorted()
        let (frontPort, mainPort, sparePort, w0, w1) = (p[0], p[1], p[2], p[3], p[4])
        let root = try TestEnvironment.configRoot(
            profiles: ["w0": Self.worker(port: w0), "w1": Self.worker(port: w1),
                       "main": try Self.main(port: mainPort, rpc: "[w0, w1]", extra: "burst: spare"),
                       "spare": try TestEnvironment.demoProfile(port: sparePort)],
            runtime: "front:\n  listen: 127.0.0.1:\(frontPort)\n  default: main\n")
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }

        let began = Date()
        let started = try await cli.run(["start", "main"])
        let startTook = Date().timeIntervalSince(began)
        #expect(started.status == 0, "\(started.output)")
        var s = try await status(cli)
        let main = try #require(s["main"]), first0 = try #require(s["w0"]), first1 = try #require(s["w1"])
        #expect(main.phase == "ready" && first0.phase == "ready" && first1.phase == "ready", "\(s)")
        let mainStart = try #require(main.startedAt)
        #expect(try #require(first0.readyAt) <= mainStart && #require(first1.readyAt) <= mainStart,
                "the main is launched only once both workers answer HELLO")
        let logs = try await cli.run(["logs", "main", "-n", "400"])
        #expect(logs.stdout.contains("--rpc 127.0.0.1:\(w0),127.0.0.1:\(w1) -dev RPC0,RPC1 --cache-ram 0"), "\(logs.stdout)")

        let answer = await OnDemandCLITests.http("POST", "http://127.0.0.1:\(frontPort)/v1/chat/completions", body: Self.chat)
        #expect(answer.status == 200, "\(answer.body)")
        #expect(answer.body.contains("chat.completion"))
        #expect(s["w0"]?.kind == "rpc-worker" && s["main"]?.kind == nil)
        // The front's /metrics scrapes every llama-server; a worker speaks no HTTP and must not be asked.
        let metrics = await OnDemandCLITests.http("GET", "http://127.0.0.1:\(frontPort)/metrics")
        #expect(metrics.status == 200)
        let workerLog = try String(contentsOf: cli.stateDirectory.appendingPathComponent("logs/w1.log"), encoding: .utf8)
        #expect(!workerLog.contains("Expected HELLO"), "something other than a main or a HELLO spoke to the worker")

        // The restart's budget comes from the first start on this machine, as loaded as it is now.
        let budget = max(30, 6 * startTook)
        let stopped = try await cli.run(["stop", "w1"])
        #expect(stopped.status == 0, "\(stopped.output)")
        let alone = try await cli.run(["start", "w1"])
        #expect(alone.stdout.contains("w1: rpc worker ready on 127.0.0.1:\(w1)"), "a worker is started like any server: \(alone.output)")
        _ = try await cli.run(["stop", "main"])
        #expect(try await cli.run(["start", "main"]).status == 0)
        s = try await status(cli)
        let mainPid = try #require(s["main"]?.pid)
        let oldMain = mainPid, old0 = try #require(first0.pid)
        let spare = try await cli.run(["start", "spare"])
        #expect(spare.status == 0, "\(spare.output)")
        kill(old0, SIGKILL)
        // At once, long before the main can be back: it aborts on this request or is already down;
        // either way the front bursts, as for any local failure.
        let during = await OnDemandCLITests.http("POST", "http://127.0.0.1:\(frontPort)/v1/chat/completions", body: Self.chat)
        #expect(during.status == 200 && during.headers["x-hermes-route"] == "spare", "\(during.status) \(during.headers) \(during.body)")
        #expect(await TestEnvironment.eventually(timeout: budget) {
            s = (try? await status(cli)) ?? [:]
            guard let m = s["main"], let w = s["w0"] else { return false }
            // A new pid, not the old main seen ready between its kill and its restart (pid nil then).
            guard let pid = m.pid else { return false }
            return m.phase == "ready" && w.phase == "ready" && pid != oldMain && w.pid != old0 && m.lostWorker == "w0"
        }, "\(s)")
        let lostAt = try #require(s["main"]?.lostWorkerAt)
        #expect(lostAt >= began && lostAt <= Date())
        #expect(try #require(s["w0"]?.readyAt) <= #require(s["main"]?.startedAt), "the main restarts after its worker is back")
        let text = try await cli.run(["status"])
        #expect(text.stdout.contains("main: rpc worker 'w0' lost at"), "\(text.stdout)")
        let again = await OnDemandCLITests.http("POST", "http://127.0.0.1:\(frontPort)/v1/chat/completions", body: Self.chat)
        #expect(again.status == 200, "\(again.body)")
    }

    /// A worker that answers HELLO with protocol 6.1.0: the main is refused before llama-server runs.
    @Test func aWorkerOfAnotherVersionIsRefusedWithBothVersions() async throws {
        let fake = try #require(FakeRPCWorker(major: 6, minor: 1, patch: 0))
        defer { fake.stop() }
        let mainPort = TestEnvironment.freePort()
        let root = try TestEnvironment.configRoot(profiles: ["main": try Self.main(port: mainPort, rpc: "[\"127.0.0.1:\(fake.port)\"]")])
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }
        let started = try await cli.run(["start", "main"])
        #expect(started.status != 0)
        #expect(started.output.contains("127.0.0.1:\(fake.port)") && started.output.contains("6.1.0") && started.output.contains("7.0.0"),
                "\(started.output)")
        #expect(fake.hellos.withLock { $0 } >= 1)
        #expect(try await status(cli)["main"]?.pid == nil, "llama-server was never launched")
        let doctor = try await cli.run(["doctor", "main"])
        #expect(doctor.status != 0)
        #expect(doctor.stdout.contains("rpc worker 127.0.0.1:\(fake.port)") && doctor.stdout.contains("speaks RPC protocol 6.1.0"), "\(doctor.stdout)")
    }
}
