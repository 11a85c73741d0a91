import Foundation
import HermesTestSupport
import Testing

/// A main's fit check counts its workers' free memory: through the built `hermes-runtime`, with the real
/// `ggml-rpc-server` on the CPU (which reports this machine's memory) and a fake worker that goes silent.
@Suite(.serialized, .realProcesses) struct RPCFitCLITests {
    /// `rpc worker w0 (127.0.0.1:PORT) 23.4 GiB`: the free memory the refusal gives a worker.
    static func reportedFree(_ text: String, worker: String) -> Double? {
        guard let start = text.range(of: worker + " ") else { return nil }
        let rest = text[start.upperBound...]
        let number = rest.prefix { $0.isNumber || $0 == "." }
        guard rest.dropFirst(number.count).hasPrefix(" GiB") || rest.dropFirst(number.count).hasPrefix(" TiB") else { return nil }
        return Double(number)
    }

    /// 8 Mi tokens of f16 KV cache for the test model is about 144 GiB: more than two CPU workers on this
    /// machine report together. The refusal names each worker and what it has free, and the workers the
    /// start brought up are stopped again.
    @Test func aMainTooBigEvenWithItsWorkersIsRefusedNamingEachWorkersMemory() async throws {
        var ports = Set<Int>()
        while ports.count < 4 { ports.insert(TestEnvironment.freePort()) }
        let p = ports.sorted()
        let (frontPort, mainPort, w0, w1) = (p[0], p[1], p[2], p[3])
        let main = try RPCWorkerCLITests.main(port: mainPort, rpc: "[w0, w1]").replacingOccurrences(of: "context: 1024", with: "context: 8388608")
        let root = try TestEnvironment.configRoot(
            profiles: ["w0": RPCWorkerCLITests.worker(port: w0), "w1": RPCWorkerCLITests.worker(port: w1), "main": main],
            runtime: "front:\n  listen: 127.0.0.1:\(frontPort)\n")
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }

        let started = try await cli.run(["start", "main"])
        #expect(started.status != 0, "\(started.output)")
        let text = started.output
        #expect(text.contains("does not fit") && text.contains("on 2 devices with") && text.contains("free together"), "\(text)")
        let free0 = try #require(Self.reportedFree(text, worker: "rpc worker w0 (127.0.0.1:\(w0))"), "\(text)")
        let free1 = try #require(Self.reportedFree(text, worker: "rpc worker w1 (127.0.0.1:\(w1))"), "\(text)")
        #expect(free0 > 0 && free1 > 0, "a CPU worker reports this machine's memory: \(text)")
        #expect(!text.contains("counted as 0"), "both workers answered: \(text)")
        #expect(text.contains("--force"), "the refusal says how to start it anyway: \(text)")
        let s = try await RPCWorkerCLITests().status(cli)
        #expect(s["main"]?.pid == nil, "llama-server was never launched: \(s)")
        #expect(s["w0"]?.phase == "stopped" && s["w1"]?.phase == "stopped", "the workers this start brought up are stopped again: \(s)")
    }

    /// A worker that answers HELLO and then nothing: its memory counts as 0 with the reason, and the start
    /// ends (refused) instead of waiting on it. The CLI's own bound (120 s) is the hang bound.
    @Test func aWorkerThatDoesNotAnswerTheMemoryQuestionCountsAsZero() async throws {
        let fake = try #require(FakeRPCWorker(major: 7, minor: 0, patch: 0, silentAfterHello: true))
        defer { fake.stop() }
        let mainPort = TestEnvironment.freePort()
        let root = try TestEnvironment.configRoot(profiles: ["main": try RPCWorkerCLITests.main(port: mainPort, rpc: "[\"127.0.0.1:\(fake.port)\"]")])
        let cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }
        let started = try await cli.run(["start", "main"])
        #expect(started.status > 0, "refused, not timed out: \(started.output)")
        #expect(started.output.contains("rpc worker 127.0.0.1:\(fake.port) 0 B (no answer in time (busy with a main, or gone): counted as 0)"),
                "\(started.output)")
        #expect(started.output.contains("start the worker that did not answer"), "\(started.output)")
        #expect(fake.hellos.withLock { $0 } >= 1)
        #expect(try await RPCWorkerCLITests().status(cli)["main"]?.pid == nil, "llama-server was never launched")
    }
}
