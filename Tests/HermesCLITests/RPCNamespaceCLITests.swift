import Foundation
import HermesTestSupport
import Testing

/// Two boxes on one machine: two network namespaces joined by a veth pair, each with its own config root
/// and its own daemon (the built binary). Box B's daemon supervises an rpc-worker on its end of the
/// link (`network: trusted`); box A's daemon runs the test model over it and answers through its front.
/// Unplugging the link (`ip link set down`) hangs box A's main (the RPC transport has no timeouts): the
/// generation probe finds it, `status` names the lost worker, and once the link is back the main is
/// ready and answers again.
@Suite(.serialized, .realProcesses) struct RPCNamespaceCLITests {
    static let chat = #"{"model":"main","messages":[{"role":"user","content":"Say hi"}],"max_tokens":4}"#

    /// POST `chat` to box A's front from inside box A (its loopback is its own).
    static func ask(_ net: NetNamespaces, front: Int) async throws -> (status: Int, body: String) {
        guard let curl = ["/usr/bin/curl", "/bin/curl", "/usr/local/bin/curl"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw NetNamespaces.Missing(description: "curl is missing: run scripts/setup-system.sh")
        }
        let r = try await runTool(net.ip, ["netns", "exec", net.a, curl, "-s", "-m", "\(Int(TestEnvironment.hangBound))", "-w", "\n%{http_code}", "-H", "Content-Type: application/json",
                                           "-d", chat, "http://127.0.0.1:\(front)/v1/chat/completions"], timeout: TestEnvironment.hangBound + 30)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    @Test func aWorkerOnAnotherBoxIsUsedAndAnUnpluggedLinkIsDetectedAndRecovered() async throws {
        let net = try NetNamespaces()
        var ports = Set<Int>()
        while ports.count < 3 { ports.insert(TestEnvironment.freePort()) }
        let p = ports.sorted()
        let (front, mainPort, workerPort) = (p[0], p[1], p[2])
        let worker = "\(net.addressB):\(workerPort)"

        let rootB = try TestEnvironment.configRoot(profiles: [
            "gpu": "kind: rpc-worker\naddress: \(net.addressB)\nnetwork: trusted\nport: \(workerPort)\ndevice: CPU\nthreads: 1\nload: always\n",
        ])
        // Generation probes every 2 s, given 10 s each, find the hang; restarts keep trying while the
        // link is down.
        let main = try RPCWorkerCLITests.main(port: mainPort, rpc: "[\"\(worker)\"]")
            .replacingOccurrences(of: "generation_interval: 0", with: "generation_interval: 2s\n  generation_timeout: 10s")
            .replacingOccurrences(of: "args: [\"-ts\", \"1,1\", \"--fit\", \"off\"]", with: "args: [\"--fit\", \"off\"]")
            .replacingOccurrences(of: "backoff: [0.2]", with: "backoff: [1]\n  max_restarts: 1000")
        let rootA = try TestEnvironment.configRoot(profiles: ["main": main],
                                                   runtime: "front:\n  listen: 127.0.0.1:\(front)\n  default: main\n")
        let boxA = try CLIRunner(configRoot: rootA), boxB = try CLIRunner(configRoot: rootB)
        defer {
            // Whatever the outcome: both daemons and everything they started, then the namespaces.
            boxA.shutDown()
            boxB.shutDown()
            net.destroy()
        }

        let b = try await boxB.run(["start", "gpu"], launcher: net.launcher(net.b))
        #expect(b.status == 0 && b.stdout.contains("gpu: rpc worker ready on \(worker)"), "\(b.output)")
        let workerPid = try #require(try await RPCWorkerCLITests().status(boxB)["gpu"]?.pid)

        let began = Date()
        let started = try await boxA.run(["start", "main"], launcher: net.launcher(net.a))
        let startTook = Date().timeIntervalSince(began)
        #expect(started.status == 0, "\(started.output)")
        var s = try await RPCWorkerCLITests().status(boxA)
        #expect(s["main"]?.phase == "ready", "\(s)")
        let firstPid = try #require(s["main"]?.pid)
        let logs = try await boxA.run(["logs", "main", "-n", "400"])
        #expect(logs.stdout.contains("--rpc \(worker) -dev RPC0"), "\(logs.stdout)")
        let first = try await Self.ask(net, front: front)
        #expect(first.status == 200 && first.body.contains("chat.completion"), "\(first)")

        // Unplugged: the main's next generation hangs on the worker. The probe gives a generation 10 s;
        // then the main is restarted, and its launch finds the worker gone.
        try net.setLinkB(up: false)
        let down = Date()
        #expect(await TestEnvironment.eventually(timeout: 2 + 10 + max(90, 4 * startTook)) {
            s = (try? await RPCWorkerCLITests().status(boxA)) ?? [:]
            return s["main"]?.lostWorker == worker && s["main"]?.lastError?.contains(worker) == true
        }, "box A names the lost worker: \(s)")
        let lostAt = try #require(s["main"]?.lostWorkerAt)
        #expect(lostAt >= down.addingTimeInterval(-1), "lost after the link went down")
        #expect(s["main"]?.phase != "ready" && s["main"]?.pid != firstPid, "\(s)")
        let text = try await boxA.run(["status"])
        #expect(text.stdout.contains("main: rpc worker '\(worker)' lost at"), "\(text.stdout)")

        // Replugged: the worker on box B never died; box A's main comes back over it and answers.
        try net.setLinkB(up: true)
        let downFor = Date().timeIntervalSince(down)
        #expect(await TestEnvironment.eventually(timeout: max(90, 6 * startTook + 2 * downFor)) {
            s = (try? await RPCWorkerCLITests().status(boxA)) ?? [:]
            guard let m = s["main"], let pid = m.pid else { return false }
            return m.phase == "ready" && pid != firstPid
        }, "box A's main is back after the link: \(s)")
        let again = try await Self.ask(net, front: front)
        #expect(again.status == 200 && again.body.contains("chat.completion"), "\(again)")
        // Box B's worker may have died when the link came back (ggml-rpc-server writes to the connection
        // box A's kernel resets and is killed by SIGPIPE); then its own daemon restarted it, as any exit.
        let w = try #require(try await RPCWorkerCLITests().status(boxB)["gpu"])
        #expect(w.phase == "ready", "\(w)")
        if w.pid != workerPid {
            let log = try String(contentsOf: boxB.stateDirectory.appendingPathComponent("logs/gpu.log"), encoding: .utf8)
            #expect(log.contains("restart 1 in"), "a new worker pid only by its daemon's restart: \(log.suffix(2000))")
        }
    }
}
