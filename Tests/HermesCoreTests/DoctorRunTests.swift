import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// `Doctor.run` on plain facts: every verdict without a process, a socket or the network.
@Suite struct DoctorRunTests {
    struct Facts: DoctorFacts {
        var binaryFact: BinaryFact = .missing(error: "llama-server not found on PATH")
        var portFact: PortFact = .free
        var answer: RemoteAnswer = .answered(url: "http://r/v1/models", status: 200, modelIDs: ["big"])
        func binary(_ profileBinary: String?) -> BinaryFact { binaryFact }
        func port(host: String, port: Int) -> PortFact { portFact }
        func fit(_ settings: LlamaServerSettings) -> FitVerdict? { nil }
        func runningServer(_ profile: String) -> Int32? { nil }
        func models(_ settings: OpenAISettings, key: String?) async -> RemoteAnswer { answer }
    }

    func config() throws -> (HermesConfig, [ConfigDiagnostic], RuntimePaths) {
        let root = try TempRoot(runtime: "front:\n  default: a\n", profiles: [
            "a": localProfile(port: 8090, extra: "host: 0.0.0.0\nburst: r"),
            "r": "kind: openai\nbase_url: http://r.example/v1\nmodel: big\napi_key_env: R_KEY\n",
            "other": "kind: openai\nbase_url: http://127.0.0.1:9/v1\n",
        ])
        let (config, diagnostics) = root.validate()
        return (try #require(config), diagnostics, root.paths)
    }

    @Test func aProfileIsCheckedWithWhereItsRequestsCanGo() throws {
        let (config, _, _) = try config()
        #expect(Doctor.selection(config, only: "a") == ["a", "r"])
        #expect(Doctor.selection(config, only: nil).count == 3)
    }

    @Test func verdictsComeFromTheFacts() async throws {
        let (config, diagnostics, paths) = try config()
        var facts = Facts()
        facts.portFact = .ourServer(profile: "a", pid: 77)
        facts.answer = .answered(url: "http://r.example/v1/models", status: 401, modelIDs: [])
        let report = await Doctor.run(config: config, diagnostics: diagnostics, paths: paths, only: "a",
                                      environment: ["R_KEY": "value-never-shown"], facts: facts)
        func find(_ check: String, _ profile: String? = nil) -> DoctorCheck? {
            report.checks.first { $0.check == check && (profile == nil || $0.profile == profile) }
        }
        #expect(find("llama-server")?.status == .fail)
        #expect(find("port", "a")?.message == "0.0.0.0:8090 is held by our own server for a (pid 77)")
        #expect(find("exposure", "a")?.status == .warn)
        #expect(find("key", "r")?.status == .ok)
        #expect(find("remote", "r")?.message.contains("refused the key (HTTP 401)") == true)
        #expect(find("front") == nil, "a profile's doctor leaves the front alone")
        #expect(!report.checks.map(\.line).joined().contains("value-never-shown"))
        #expect(report.failed)
    }

    @Test func portsHeldByOthersFailAndOurOtherServerWarns() {
        let fix = "change it"
        #expect(LocalChecks.port(host: "h", port: 1, subject: "port", profile: "a", fact: .free, fix: fix).status == .ok)
        #expect(LocalChecks.port(host: "h", port: 1, subject: "port", profile: "a", fact: .ourServer(profile: "b", pid: 2), fix: fix).status == .warn)
        #expect(LocalChecks.port(host: "h", port: 1, subject: "front", profile: nil, fact: .ourFront(daemonPid: 3), fix: fix).status == .ok)
        let taken = LocalChecks.port(host: "h", port: 1, subject: "port", profile: "a", fact: .taken(holder: "nginx (pid 9)"), fix: fix)
        #expect(taken.status == .fail)
        #expect(taken.message == "h:1 is in use by nginx (pid 9)")
    }

    @Test func remoteAnswersReadAsAPersonWould() {
        var s = OpenAISettings()
        s.model = "big"
        #expect(RemoteChecks.reachability("r", settings: s, answer: .answered(url: "u", status: 200, modelIDs: ["big"])).status == .ok)
        #expect(RemoteChecks.reachability("r", settings: s, answer: .answered(url: "u", status: 200, modelIDs: ["small"])).status == .warn)
        #expect(RemoteChecks.reachability("r", settings: s, answer: .answered(url: "u", status: 503, modelIDs: [])).status == .warn)
        #expect(RemoteChecks.reachability("r", settings: s, answer: .failed(url: "u", reason: "no answer in time")).status == .warn)
        #expect(RemoteChecks.modelIDs(Data(#"{"data":[{"id":"a"},{"id":"b"}],"models":[{"name":"x"}]}"#.utf8)) == ["a", "b"])
        #expect(RemoteChecks.modelIDs(Data("<html>".utf8)).isEmpty)
    }
}
