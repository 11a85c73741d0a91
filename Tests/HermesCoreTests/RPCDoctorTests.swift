import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// `doctor` on RPC workers: judged from plain facts, no socket.
@Suite struct RPCDoctorTests {
    struct Facts: DoctorFacts {
        var running: Set<String> = []
        var workers: [String: RPCWorkerFact] = [:]
        func binary(_ profileBinary: String?) -> BinaryFact { .missing(error: "not needed") }
        func port(host: String, port: Int) -> PortFact { .free }
        func fit(_ settings: LlamaServerSettings) -> FitVerdict? { nil }
        func runningServer(_ profile: String) -> Int32? { running.contains(profile) ? 42 : nil }
        func models(_ settings: OpenAISettings, key: String?) async -> RemoteAnswer { .failed(url: "", reason: "unused") }
        func rpcWorker(host: String, port: Int) async -> RPCWorkerFact { workers["\(host):\(port)"] ?? .failed("cannot connect (Connection refused)") }
        /// The real verdict over what the checks pass in, for a model of 65.0 GiB and this box's 100 GiB.
        func splitFit(_ settings: LlamaServerSettings, workers: [WorkerMemory]) -> SplitFitVerdict? {
            SplitFitVerdict(estimate: SplitFitTests.big, workers: workers,
                            local: MemoryPoolBudget(name: "system memory", availableBytes: 100 << 30), localIsDevice: false, shared: true)
        }
    }

    func config() throws -> HermesConfig {
        let root = try TempRoot(profiles: [
            "w0": "kind: rpc-worker\nport: 50152\n",
            "lan": "kind: rpc-worker\naddress: 10.77.0.2\nnetwork: trusted\nport: 50153\n",
            "main": localProfile(port: 8301, extra: "rpc: [w0, 10.77.0.9:50052, 10.77.0.8:50052]"),
        ])
        return try #require(root.validate().0)
    }

    @Test func everyWorkerIsAskedAndJudged() async throws {
        let c = try config()
        var facts = Facts()
        facts.workers["127.0.0.1:50152"] = .answered(RPCVersion(major: 7, minor: 0, patch: 0), RPCDeviceMemory(free: 1 << 30, total: 2 << 30))
        facts.workers["10.77.0.9:50052"] = .answered(RPCVersion(major: 6, minor: 1, patch: 0), nil)
        let checks = await RPCChecks.all(c.profiles.values.sorted { $0.name < $1.name }, config: c, facts: facts)
        let lines = checks.map { "\($0.status) \($0.profile ?? "") \($0.message)" }
        #expect(lines.contains { $0.hasPrefix("warn lan listens on 10.77.0.2:50153, off loopback") && $0.contains("no authentication and no encryption") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("ok main rpc worker w0 (127.0.0.1:50152) answers, protocol 7.0.0, 1.0 GiB free of 2.0 GiB") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("fail main") && $0.contains("10.77.0.9:50052") && $0.contains("6.1.0") && $0.contains("7.0.0") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("fail main") && $0.contains("10.77.0.8:50052") && $0.contains("Connection refused") }, "\(lines)")
        #expect(!lines.contains { $0.contains("w0 listens") }, "a loopback worker is not warned about")
    }

    @Test func theFitCountsEveryWorkersMemoryAndZeroForOneThatDidNotSay() async throws {
        let c = try config()
        var facts = Facts()
        facts.workers["127.0.0.1:50152"] = .answered(RPCVersion(major: 7, minor: 0, patch: 0), RPCDeviceMemory(free: 40 << 30, total: 64 << 30))
        facts.workers["10.77.0.9:50052"] = .answered(RPCVersion(major: 7, minor: 0, patch: 0), RPCDeviceMemory(free: 30 << 30, total: 64 << 30))
        let main = try #require(c.profiles["main"])
        let checks = await RPCChecks.all([main], config: c, facts: facts)
        let fit = try #require(checks.first { $0.check == "fit" })
        #expect(fit.status == .ok, "40 + 30 GiB hold 65 GiB although 10.77.0.8 did not answer: \(fit.message)")
        #expect(fit.message.contains("70.0 GiB free together: rpc worker w0 (127.0.0.1:50152) 40.0 GiB, rpc worker 10.77.0.9:50052 30.0 GiB, "
            + "rpc worker 10.77.0.8:50052 0 B (cannot connect (Connection refused): counted as 0)"), "\(fit.message)")
        facts.workers["10.77.0.9:50052"] = .answered(RPCVersion(major: 7, minor: 0, patch: 0), nil)
        let again = await RPCChecks.all([main], config: c, facts: facts)
        let short = try #require(again.first { $0.check == "fit" })
        #expect(short.status == .fail && short.message.contains("(no memory answer: counted as 0)"), "\(short.message)")
    }

    @Test func aRunningMainsWorkersAreNotProbed() async throws {
        let c = try config()
        let checks = await RPCChecks.all([try #require(c.profiles["main"])], config: c, facts: Facts(running: ["main"]))
        #expect(checks.count == 1)
        #expect(checks.first?.status == .ok && checks.first?.message.contains("not probed") == true, "\(checks)")
    }
}
