import Foundation
import HermesCore
import HermesTestSupport
import Testing

/// What a person and a script see when a command fails: one shape (message, cause, hint) on stderr,
/// the same parts with the code as JSON under `--json`, exit status 1. Needs no daemon.
@Suite struct ErrorShapeCLITests {
    struct Wrapped: Decodable {
        var error: Problem
    }

    @Test func aMissingProfileAndABrokenConfigSayWhatWhereAndWhatToDo() async throws {
        let root = try TestEnvironment.temporaryDirectory("errors").appendingPathComponent("config")
        let (cli, _) = try isolatedCLI(root: root)
        #expect(try await cli.run(["init", "--preset", "cpu"]).status == 0)

        let text = try await cli.run(["start", "demo-locl"])
        #expect(text.status == 1, "\(text.output)")
        #expect(text.stderr.hasPrefix("Error: no profile 'demo-locl' in \(root.path)/runtimes\nhint: did you mean 'demo-local'?\n"), "\(text.stderr)")
        let json = try await cli.run(["start", "demo-locl", "--json"])
        #expect(json.status == 1)
        let problem = try JSONDecoder().decode(Wrapped.self, from: Data(json.stderr.utf8)).error
        #expect(problem.code == "unknown_profile" && problem.hint == "did you mean 'demo-local'?", "\(json.stderr)")

        // A broken file: the problem at its file and line is the cause, the way to see them all the hint.
        let file = root.appendingPathComponent("runtimes/demo-local.yaml")
        try (try String(contentsOf: file, encoding: .utf8) + "\nmlok: true\n").write(to: file, atomically: true, encoding: .utf8)
        let broken = try await cli.run(["start", "demo-local", "--json"])
        #expect(broken.status == 1)
        let config = try JSONDecoder().decode(Wrapped.self, from: Data(broken.stderr.utf8)).error
        #expect(config.code == "invalid_config" && config.message == "the config has a problem", "\(broken.stderr)")
        #expect(config.cause?.contains("runtimes/demo-local.yaml:") == true && config.cause?.contains("mlok") == true, "\(broken.stderr)")
        #expect(config.hint?.contains("config validate") == true)
        let plain = try await cli.run(["start", "demo-local"])
        #expect(plain.stderr.hasPrefix("Error: the config has a problem\ncause: ") && plain.stderr.contains("demo-local.yaml:"), "\(plain.stderr)")
    }
}
