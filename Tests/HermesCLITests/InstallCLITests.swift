import Foundation
import HermesTestSupport
import Testing

/// scripts/install.sh as a user runs it, with the built binary (`--binary`: the release build itself
/// is the same script path, measured in docs/operations.md), into a prefix and a home of the test's own.
@Suite(.serialized, .realProcesses) struct InstallCLITests {
    @Test func installPutsBinaryCompletionsAndUnitInPlaceAndUninstallTakesThemAway() async throws {
        let binary = try TestEnvironment.builtProduct("hermes-runtime")
        let work = try TestEnvironment.temporaryDirectory("install")
        let prefix = work.appendingPathComponent("prefix"), home = work.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = home.path
        env.removeValue(forKey: "XDG_CONFIG_HOME")
        env.removeValue(forKey: "HERMES_RUNTIME_HOME")
        env["SHELL"] = "/bin/bash"
        let script = TestEnvironment.repositoryRoot.appendingPathComponent("scripts/install.sh").path

        let install = try await runTool(script, ["--binary", binary, "--prefix", prefix.path], environment: env)
        #expect(install.status == 0, "\(install.stdout)\(install.stderr)")
        let installed = prefix.appendingPathComponent("bin/hermes-runtime").path
        #expect(FileManager.default.isExecutableFile(atPath: installed))

        // --version names the version and the commit this tree is at.
        let version = try await runTool(installed, ["--version"], environment: env)
        let head = try await runTool("/usr/bin/git", ["-C", TestEnvironment.repositoryRoot.path, "rev-parse", "--short=12", "HEAD"])
        let commit = head.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(version.stdout.hasPrefix("hermes-runtime 0."), "\(version.stdout)")
        #expect(version.stdout.contains("(commit \(commit)"), "\(version.stdout) vs HEAD \(commit)")
        #expect(install.stdout.contains("installed \(installed): hermes-runtime"))

        let completions = [
            "share/bash-completion/completions/hermes-runtime": "_hermes-runtime",
            "share/zsh/site-functions/_hermes-runtime": "#compdef hermes-runtime",
            "share/fish/vendor_completions.d/hermes-runtime.fish": "complete -c 'hermes-runtime'",
        ]
        for (path, marker) in completions {
            let text = (try? String(contentsOf: prefix.appendingPathComponent(path), encoding: .utf8)) ?? ""
            #expect(text.contains(marker), "\(path)")
            #expect(text.contains("doctor"), "\(path) completes the subcommands")
        }
        let unitPath = home.appendingPathComponent(".config/systemd/user/hermes-runtime.service").path
        let unit = (try? String(contentsOfFile: unitPath, encoding: .utf8)) ?? ""
        #expect(unit.contains("\nExecStart=\(installed) serve --config "), "the unit runs the installed binary: \(unit)")

        // Enabled by hand (what `systemctl --user enable` does), then uninstalled.
        let wants = home.appendingPathComponent(".config/systemd/user/default.target.wants")
        try FileManager.default.createDirectory(at: wants, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: wants.appendingPathComponent("hermes-runtime.service").path, withDestinationPath: unitPath)
        let uninstall = try await runTool(script, ["--uninstall", "--prefix", prefix.path], environment: env)
        #expect(uninstall.status == 0, "\(uninstall.stdout)\(uninstall.stderr)")
        #expect(!FileManager.default.fileExists(atPath: installed))
        #expect(!FileManager.default.fileExists(atPath: unitPath))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: wants.appendingPathComponent("hermes-runtime.service").path)) == nil)
        for path in completions.keys { #expect(!FileManager.default.fileExists(atPath: prefix.appendingPathComponent(path).path)) }
        #expect(uninstall.stdout.contains("systemctl --user stop hermes-runtime"))
    }

    /// install.sh over a running daemon of the installed binary ends in `daemon restart`: the server is
    /// adopted with its pid.
    @Test func installOverARunningDaemonRestartsItAndKeepsTheModelLoaded() async throws {
        let binary = try TestEnvironment.builtProduct("hermes-runtime")
        let work = try TestEnvironment.temporaryDirectory("install-upgrade")
        let prefix = work.appendingPathComponent("prefix")
        let root = try TestEnvironment.configRoot(profiles: ["demo": try TestEnvironment.demoProfile(port: TestEnvironment.freePort())])
        var cli = try CLIRunner(configRoot: root)
        defer { cli.shutDown() }
        let script = TestEnvironment.repositoryRoot.appendingPathComponent("scripts/install.sh").path
        let first = try await runTool(script, ["--binary", binary, "--prefix", prefix.path, "--no-service"], environment: cli.environment)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(!first.stdout.contains("daemon restarted"), "no daemon ran yet: \(first.stdout)")
        cli.binary = prefix.appendingPathComponent("bin/hermes-runtime").path  // the daemon runs the installed file
        #expect(try await cli.run(["start", "demo"]).status == 0)
        let pid = try #require(try await CLIStatus.server(cli, "demo").pid)

        let again = try await runTool(script, ["--binary", binary, "--prefix", prefix.path, "--no-service"], environment: cli.environment)
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(again.stdout.contains("daemon restarted: pid "), "\(again.stdout)")
        #expect(again.stdout.contains("kept running: demo"), "\(again.stdout)")
        let kept = try await CLIStatus.server(cli, "demo")
        #expect(kept.pid == pid)
        #expect(kept.adopted == true)
    }

    @Test func uninstallLeavesAUnitItDidNotWrite() async throws {
        let root = try TestEnvironment.temporaryDirectory("unit")
        var (cli, home) = try isolatedCLI(root: root)
        cli.environment["HOME"] = home.path
        let unit = home.appendingPathComponent(".config/systemd/user/hermes-runtime.service")
        try FileManager.default.createDirectory(at: unit.deletingLastPathComponent(), withIntermediateDirectories: true)
        try "[Service]\nExecStart=/my/own\n".write(to: unit, atomically: true, encoding: .utf8)
        let r = try await cli.run(["service", "uninstall"])
        #expect(r.status != 0)
        #expect(r.output.contains("was not written by"))
        #expect(FileManager.default.fileExists(atPath: unit.path))
    }
}
