import Foundation
import HermesTestSupport
import Testing

/// `doctor` through the built binary: a healthy setup with the real llama-server and test model, then
/// each broken case on its own root.
@Suite(.serialized, .realProcesses) struct DoctorCLITests {
    struct Report: Decodable {
        struct Check: Decodable {
            var check: String
            var profile: String?
            var status: String
            var message: String
            var fix: String?
        }
        var ok: Bool
        var checks: [Check]
    }

    func doctor(_ cli: CLIRunner, _ args: [String] = []) async throws -> (CLIRunner.Result, Report?) {
        let r = try await cli.run(["doctor", "--json"] + args)
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return (r, try? d.decode(Report.self, from: Data(r.stdout.utf8)))
    }

    /// The lines of a text run that start with `status`.
    func lines(_ r: CLIRunner.Result, _ status: String) -> [String] {
        r.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix(status) }
    }

    @Test func healthySetupPassesAndOurOwnServerMayHoldItsPort() async throws {
        // The "remote" is a real llama-server speaking the OpenAI API, listing its alias under /v1/models.
        let remote = try await LlamaServerProcess.start(context: 512, slots: 1, extraArguments: ["-a", "test-model"])
        defer { remote.stop() }
        let port = TestEnvironment.freePort()
        let root = try TestEnvironment.configRoot(profiles: [
            "demo": try TestEnvironment.demoProfile(port: port, extra: "burst: remote"),
            "remote": """
                kind: openai
                base_url: http://127.0.0.1:\(remote.port)/v1
                api_key_env: HERMES_DOCTOR_TEST_API_KEY
                model: test-model
                """,
        ], runtime: "front:\n  listen: 127.0.0.1:\(TestEnvironment.freePort())\n  default: demo\n")
        let secret = "doctor-secret-value-1234"
        let (cli, _) = try isolatedCLI(root: root, extraEnvironment: ["HERMES_DOCTOR_TEST_API_KEY": secret])
        defer { cli.shutDown() }

        let text = try await cli.run(["doctor"])
        #expect(text.status == 0, "\(text.output)")
        #expect(lines(text, "fail").isEmpty)
        #expect(!text.output.contains(secret))
        for expected in ["ok    llama-server: ", "ok    dialect: current (--load-mode)", "ok    demo flags: accepted by this build: ",
                         "ok    demo model: ", "GGUF v3", "ok    demo port: 127.0.0.1:\(port) is free",
                         "ok    remote key: HERMES_DOCTOR_TEST_API_KEY is set (value not shown)",
                         "ok    remote remote: http://127.0.0.1:\(remote.port)/v1/models answers and lists test-model",
                         "ok    chains: demo -> remote (resolves, no cycle)", "ok    front: listens on 127.0.0.1:"] {
            #expect(text.stdout.contains(expected), "missing \(expected) in\n\(text.stdout)")
        }
        let (json, report) = try await doctor(cli)
        #expect(json.status == 0)
        #expect(report?.ok == true)
        #expect(report?.checks.contains { $0.check == "flags" && $0.profile == "demo" && $0.status == "ok" } == true)

        // Started by our daemon, the server's port is busy, and that is fine.
        let started = try await cli.run(["start", "demo"])
        #expect(started.status == 0, "\(started.output)")
        let again = try await cli.run(["doctor", "demo"])
        #expect(again.status == 0, "\(again.output)")
        #expect(again.stdout.contains("ok    demo port: 127.0.0.1:\(port) is held by our own server for demo (pid "))
        #expect(!again.stdout.contains("front:"), "a profile's doctor leaves the front alone")
    }

    @Test func rejectedFlagsInArgsAreCaughtWithTheReplacement() async throws {
        let root = try TestEnvironment.configRoot(profiles: [
            "article": try TestEnvironment.demoProfile(port: TestEnvironment.freePort(), extra: #"args: ["--mlock", "--slots", "4"]"#),
        ])
        let (cli, _) = try isolatedCLI(root: root)
        let r = try await cli.run(["doctor"])
        #expect(r.status == 1, "\(r.output)")
        let fails = lines(r, "fail")
        #expect(fails.contains { $0.contains("article flags: args: --mlock is not accepted") && $0.contains("write `mlock: true` in the profile instead") },
                "\(fails)")
        #expect(fails.contains { $0.contains("--slots takes no value, but '4' follows it") && $0.contains("the slot count is -np/--parallel (write `slots: N`") },
                "\(fails)")
    }

    @Test func missingModelBadMagicAndTooBigFail() async throws {
        let bad = try TestEnvironment.temporaryDirectory("models").appendingPathComponent("page.gguf")
        try Data("<html>Not Found</html>".utf8).write(to: bad)
        let good = try TestEnvironment.demoProfile(port: TestEnvironment.freePort())
        let model = try TestEnvironment.testModel()
        let root = try TestEnvironment.configRoot(profiles: [
            "gone": good.replacingOccurrences(of: model, with: "/nonexistent/model.gguf"),
            "html": try TestEnvironment.demoProfile(port: TestEnvironment.freePort()).replacingOccurrences(of: model, with: bad.path),
            // 16M tokens of KV cache: hundreds of GiB, more than any machine running this has.
            "huge": try TestEnvironment.demoProfile(port: TestEnvironment.freePort(), context: 16_000_000),
        ])
        let (cli, _) = try isolatedCLI(root: root)
        let r = try await cli.run(["doctor"])
        #expect(r.status == 1, "\(r.output)")
        #expect(r.stdout.contains("fail  gone model: /nonexistent/model.gguf does not exist -> fix: download the model there"))
        #expect(r.stdout.contains("fail  html model: \(bad.path): not a GGUF file: starts with 3c 68 74 6d"))
        let fit = try #require(lines(r, "fail").first { $0.contains("huge fit:") }, "\(r.stdout)")
        #expect(fit.contains("does not fit: needs "))
        #expect(fit.contains("KV cache"))
        #expect(fit.contains("-> fix: a context of at most "), "\(fit)")
        #expect(r.stdout.contains("ok    huge model: "))
    }

    @Test func busyPortFailsNamingTheHolder() async throws {
        let holder = PortHolder()
        defer { holder.close() }
        let root = try TestEnvironment.configRoot(profiles: ["demo": try TestEnvironment.demoProfile(port: holder.port)])
        let (cli, _) = try isolatedCLI(root: root)
        let r = try await cli.run(["doctor"])
        #expect(r.status == 1, "\(r.output)")
        let line = try #require(lines(r, "fail").first { $0.contains("demo port:") }, "\(r.stdout)")
        #expect(line.contains("127.0.0.1:\(holder.port) is in use by pid \(getpid())"))
        #expect(line.contains("change `port:` in runtimes/demo.yaml"))
    }

    @Test func unsetKeyFailsAndAnUnreachableRemoteIsOnlyAWarning() async throws {
        let root = try TestEnvironment.configRoot(profiles: [
            "nokey": "kind: openai\nbase_url: http://127.0.0.1:1/v1\napi_key_env: HERMES_DOCTOR_UNSET_API_KEY\nmodel: m\n",
            "withkey": "kind: openai\nbase_url: http://127.0.0.1:1/v1\napi_key_env: HERMES_DOCTOR_SET_API_KEY\nmodel: m\n",
        ], runtime: "front:\n  listen: 127.0.0.1:\(TestEnvironment.freePort())\n  default: withkey\n")
        let (cli, _) = try isolatedCLI(root: root, extraEnvironment: ["HERMES_DOCTOR_SET_API_KEY": "set-value-5678"])
        let r = try await cli.run(["doctor"])
        #expect(r.status == 1, "\(r.output)")
        #expect(lines(r, "fail").count == 1, "\(r.stdout)")
        #expect(r.stdout.contains("fail  nokey key: HERMES_DOCTOR_UNSET_API_KEY is not set"))
        #expect(r.stdout.contains("warn  withkey remote: GET http://127.0.0.1:1/v1/models failed: "))
        #expect(!r.output.contains("set-value-5678"))
        // Only the profile with its key set: warnings alone exit 0.
        let one = try await cli.run(["doctor", "withkey"])
        #expect(one.status == 0, "\(one.output)")
        #expect(one.stdout.contains("warn  withkey remote:"))
    }

    @Test func burstFallbackCycleFails() async throws {
        let root = try TestEnvironment.configRoot(profiles: [
            "a": "kind: openai\nbase_url: http://127.0.0.1:1/v1\nfallback: [b]\n",
            "b": "kind: openai\nbase_url: http://127.0.0.1:1/v1\nfallback: [a]\n",
        ])
        let (cli, _) = try isolatedCLI(root: root)
        let (r, report) = try await doctor(cli, ["--timeout", "1"])
        #expect(r.status == 1, "\(r.output)")
        let cycle = try #require(report?.checks.first { $0.check == "chains" && $0.status == "fail" }, "\(r.stdout)")
        #expect(cycle.message.contains("burst/fallback cycle: a -> b -> a"))
        #expect(cycle.fix != nil)
    }

    @Test func frontOffLoopbackWithoutAKeyFails() async throws {
        let root = try TestEnvironment.configRoot(profiles: ["a": "kind: openai\nbase_url: http://127.0.0.1:1/v1\n"],
                                                  runtime: "front:\n  listen: 0.0.0.0:\(TestEnvironment.freePort())\n  default: a\n")
        let (cli, _) = try isolatedCLI(root: root)
        let r = try await cli.run(["doctor", "--timeout", "1"])
        #expect(r.status == 1, "\(r.output)")
        #expect(r.stdout.contains("fail  front: listens on 0.0.0.0:"))
        #expect(r.stdout.contains("set front.api_key_env in runtime.yaml, or listen on 127.0.0.1"))
    }
}
