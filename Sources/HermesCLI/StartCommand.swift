import ArgumentParser
import Foundation
import HermesCore
import HermesSupervisor

/// `hermes-runtime start PROFILE`: launch a profile's llama-server under the daemon.
struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start a llama-server profile and wait until it answers."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile to start (runtimes/PROFILE.yaml).")
    var profile: String

    @Flag(name: .customLong("dry-run"), help: "Print the exact command line and environment; run nothing.")
    var dryRun = false

    @Option(name: .customLong("llama-server"), help: "Use this llama-server binary for every profile (also $HERMES_RUNTIME_LLAMA_SERVER).")
    var llamaServer: String?

    func run() async throws {
        let paths = global.paths()
        let config = try loadConfig(paths)
        guard let p = config.profile(named: profile) else {
            throw CLIError("no profile '\(profile)' in \(paths.profilesDirectory.path)",
                           hint: closestMatch(to: profile, in: config.profileNames).map { "did you mean '\($0)'?" }
                               ?? "profiles: \(config.profileNames.joined(separator: ", "))")
        }
        let planner = CommandPlanner(probe: DialectProbe(cacheDirectory: paths.dialectCacheDirectory), binaryOverride: llamaServer)
        let (command, dialect) = try planner.plan(p)
        if dryRun {
            if global.json {
                struct Out: Encodable {
                    var profile: String
                    var executable: String
                    var arguments: [String]
                    var environment: [String: String]
                    var dialect: String
                    var shellLine: String
                }
                printJSON(Out(profile: p.name, executable: command.executable, arguments: command.arguments,
                              environment: command.environment, dialect: dialect.summary, shellLine: command.shellLine))
            } else {
                print("# profile \(p.name) (\(p.source.file)); llama-server dialect: \(dialect.summary)")
                for (k, v) in command.environment.sorted(by: { $0.key < $1.key }) { print("export \(k)=\(shellQuote(v))") }
                print(([command.executable] + command.arguments).map(shellQuote).joined(separator: " "))
            }
            return
        }
        throw CLIError("starting without --dry-run needs the supervisor daemon", hint: "use --dry-run for now")
    }
}

/// Loads the config root or throws every error as one message.
func loadConfig(_ paths: RuntimePaths) throws -> HermesConfig {
    do {
        return try ConfigLoader.load(paths: paths)
    } catch let error as ConfigError {
        throw CLIError(error.description, hint: "fix the file(s) above; `hermes-runtime config validate` lists every problem")
    }
}
