import Foundation
import HermesTestSupport
import Testing

/// `import-hermes-profile` and `service install` through the built binary.
@Suite struct ImportServiceCLITests {
    static let secret = "sk-or-v1-feedfacecafebeef0123456789abcdef"

    /// A Hermes agent profile directory: `config.yaml` with a model block, `.env` beside it.
    func hermesProfile(_ name: String, apiKey: String, dotenv: String) async throws -> URL {
        let dir = try TestEnvironment.temporaryDirectory("hermes").appendingPathComponent("profiles/\(name)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try """
            model:
              provider: custom
              base_url: https://openrouter.ai/api/v1
              default: anthropic/claude-sonnet-4
              context_length: 200000
              api_key: \(apiKey)
            agent:
              max_turns: 60
            """.write(to: dir.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        try dotenv.write(to: dir.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test func literalKeyBecomesTheNameOfTheDotenvVariableHoldingIt() async throws {
        let root = try TestEnvironment.configRoot(profiles: [:])
        let (cli, _) = try isolatedCLI(root: root)
        let dir = try await hermesProfile("work", apiKey: Self.secret, dotenv: "TERMINAL_ENV=local\nWORK_ROUTER_KEY=\(Self.secret)\n")
        let r = try await cli.run(["import-hermes-profile", dir.path])
        #expect(r.status == 0, "\(r.output)")
        let written = try readText(root, "runtimes/work.yaml")
        #expect(written.contains("\nkind: openai\n"))
        #expect(written.contains("\napi_key_env: WORK_ROUTER_KEY\n"))
        #expect(written.contains("\nmodel: anthropic/claude-sonnet-4\n"))
        #expect(written.contains("\ncontext: 200000\n"))
        #expect(r.stdout.contains(".env holds the same value in WORK_ROUTER_KEY"))
        #expect(r.stdout.contains("backed up the current config as "), "the root had a runtime.yaml")
        #expect(r.stdout.contains("WORK_ROUTER_KEY is in \(dir.path)/.env but not in this environment"))
        // The key is nowhere: not in what we wrote (backups included), not in what we printed.
        #expect(!r.output.contains(Self.secret))
        #expect(!allText(under: root).contains(Self.secret))
        #expect(try await cli.run(["config", "validate"]).status == 0)
    }

    @Test func variableReferenceIsRecordedAndNameCanBeChosen() async throws {
        let root = try TestEnvironment.configRoot(profiles: [:])
        let (cli, _) = try isolatedCLI(root: root)
        let dir = try await hermesProfile("personal", apiKey: "${OPENROUTER_API_KEY}", dotenv: "OPENROUTER_API_KEY=\(Self.secret)\n")
        let r = try await cli.run(["import-hermes-profile", dir.appendingPathComponent("config.yaml").path, "--name", "cloud-main", "--json"])
        #expect(r.status == 0, "\(r.output)")
        #expect(try readText(root, "runtimes/cloud-main.yaml").contains("\napi_key_env: OPENROUTER_API_KEY\n"))
        #expect(r.stdout.contains(#""api_key_env" : "OPENROUTER_API_KEY""#))
        #expect(!r.output.contains(Self.secret))
        #expect(!allText(under: root).contains(Self.secret))
    }

    @Test func anUnmatchedLiteralKeyNamesTheVariableToSet() async throws {
        let root = try TestEnvironment.configRoot(profiles: [:])
        let (cli, _) = try isolatedCLI(root: root)
        let dir = try await hermesProfile("lab", apiKey: Self.secret, dotenv: "")
        let r = try await cli.run(["import-hermes-profile", dir.path])
        #expect(r.status == 0, "\(r.output)")
        #expect(try readText(root, "runtimes/lab.yaml").contains("\napi_key_env: LAB_API_KEY\n"))
        #expect(r.stdout.contains("set LAB_API_KEY to the key (it was not copied)"))
        #expect(!r.output.contains(Self.secret))
        #expect(!allText(under: root).contains(Self.secret))
    }

    @Test func serviceInstallWritesTheUserUnitAndPrintsHowToEnableIt() async throws {
        let port = TestEnvironment.freePort()
        let root = try TestEnvironment.configRoot(profiles: ["demo": try TestEnvironment.demoProfile(port: port)])
        let (cli, home) = try isolatedCLI(root: root)
        let unitPath = home.appendingPathComponent(".config/systemd/user/hermes-runtime.service")

        let printed = try await cli.run(["service", "install", "--start", "demo", "--print"])
        #expect(printed.status == 0, "\(printed.output)")
        #expect(printed.stdout.contains(" serve --config \(root.standardizedFileURL.path) --start demo\n"))
        #expect(!FileManager.default.fileExists(atPath: unitPath.path), "--print writes nothing")

        let r = try await cli.run(["service", "install", "--start", "demo"])
        #expect(r.status == 0, "\(r.output)")
        let unit = try String(contentsOf: unitPath, encoding: .utf8)
        #expect(unit == printed.stdout)
        #expect(unit.contains("\nExecStart=\(cli.binary) serve --config "))
        #expect(unit.contains("\nEnvironmentFile=-\(root.standardizedFileURL.path)/keys.env\n"))
        #expect(r.stdout.contains("systemctl --user daemon-reload"))
        #expect(r.stdout.contains("systemctl --user enable --now hermes-runtime"))

        let wrong = try await cli.run(["service", "install", "--start", "dem"])
        #expect(wrong.status != 0)
        #expect(wrong.output.contains("did you mean 'demo'?"))
    }
}
