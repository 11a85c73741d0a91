import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

@Suite struct DoctorChecksTests {
    @Test func frontOffLoopbackWithoutAKeyFails() {
        var front = FrontSettings()
        front.defaultProfile = "x"
        #expect(ConfigChecks.front(front, environment: [:]).map(\.status) == [.ok])
        front.host = "0.0.0.0"
        let open = ConfigChecks.front(front, environment: [:])
        #expect(open.map(\.status) == [.fail])
        #expect(open[0].fix?.contains("api_key_env") == true)
        front.apiKeyEnv = "FRONT_KEY"
        #expect(ConfigChecks.front(front, environment: [:]).map(\.status) == [.fail], "the key's variable is unset")
        let ok = ConfigChecks.front(front, environment: ["FRONT_KEY": "s3cret-value"])
        #expect(ok.map(\.status) == [.ok])
        #expect(!ok[0].line.contains("s3cret-value"))
        front.defaultProfile = nil
        #expect(ConfigChecks.front(front, environment: ["FRONT_KEY": "v"]).map(\.status) == [.ok, .warn])
    }

    @Test func loaderDiagnosticsSplitIntoChainsAndTheRest() throws {
        let root = try TempRoot(runtime: "front:\n  default: a\n", profiles: [
            "a": "kind: openai\nbase_url: http://x/v1\nfallback: [b]\n",
            "b": "kind: openai\nbase_url: http://y/v1\nfallback: [a]\ntimeout: soon\n",
            "c": localProfile(port: 8090, extra: "burst: a").replacingOccurrences(of: modelFile, with: "/nonexistent.gguf"),
        ])
        let (config, diagnostics) = root.validate()
        let (chains, rest) = ConfigChecks.diagnostics(diagnostics, root: root.url.path)
        #expect(chains.count == 1)
        #expect(chains.first?.message.contains("cycle") == true)
        #expect(chains.first?.status == .fail)
        #expect(rest.count == 1, "the duration error; the missing model is the model check's")
        #expect(rest.first?.message.hasPrefix("runtimes/b.yaml:") == true)
        let c = try #require(config)
        #expect(ConfigChecks.chains(c, profiles: ["c"]) == ["c -> a -> b"])
    }

    @Test func doctorLines() {
        let fail = DoctorCheck(.fail, "flags", profile: "coding-local", "args: --mlock is not accepted", fix: "write `mlock: true`")
        #expect(fail.line == "fail  coding-local flags: args: --mlock is not accepted -> fix: write `mlock: true`")
        #expect(DoctorCheck(.ok, "front", "fine", fix: "ignored").line == "ok    front: fine")
        let report = DoctorReport(checks: [fail, DoctorCheck(.ok, "x", "y"), DoctorCheck(.warn, "z", "w")])
        #expect(report.failed)
        #expect(report.summary == "1 ok, 1 warn, 1 fail")
    }

    @Test func systemdUnitRunsServeForTheRootAndQuotesWhatNeedsIt() {
        let unit = SystemdUnit(executable: "/home/u/.local/bin/hermes-runtime", configRoot: "/home/u/my config",
                               startProfiles: ["coding-local"], environmentFile: "/home/u/my config/keys.env")
        #expect(unit.text.contains("\nExecStart=/home/u/.local/bin/hermes-runtime serve --config \"/home/u/my config\" --start coding-local\n"))
        #expect(unit.text.contains("\nEnvironmentFile=-/home/u/my config/keys.env\n"))
        #expect(unit.text.contains("\nKillMode=mixed\n"))
        #expect(unit.text.contains("\nWantedBy=default.target\n"))
        #expect(SystemdUnit.quote("50%") == "50%%")
        #expect(SystemdUnit.path(environment: ["HOME": "/h"]) == "/h/.config/systemd/user/hermes-runtime.service")
        #expect(SystemdUnit.path(environment: ["HOME": "/h", "XDG_CONFIG_HOME": "/x"]) == "/x/systemd/user/hermes-runtime.service")
    }
}
