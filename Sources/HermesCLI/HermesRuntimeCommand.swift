import ArgumentParser
import Foundation
import HermesCore

/// `hermes-runtime`: the root command. One file per subcommand; each parses and delegates.
public struct HermesRuntimeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "hermes-runtime",
        abstract: "A local inference supervisor for llama.cpp on AMD ROCm, with an OpenAI-compatible routing front.",
        version: BuildInfo.line,
        subcommands: [
            StartCommand.self,
            StopCommand.self,
            UnloadCommand.self,
            KVCommand.self,
            StatusCommand.self,
            SpendCommand.self,
            LogsCommand.self,
            GPUCommand.self,
            ConfigCommand.self,
            ServeCommand.self,
            DaemonCommand.self,
            InitCommand.self,
            DoctorCommand.self,
            ImportHermesProfileCommand.self,
            ServiceCommand.self,
            ReloadCommand.self,
            RouteCommand.self,
            KeeperCommand.self,
        ]
    )

    public init() {}
}

/// The executable's entry point. Parses and runs by hand because calling the async `main()` of a root
/// command from another module resolves to the synchronous one on Linux.
public enum HermesRuntimeMain {
    public static func run() async {
        do {
            var command = try HermesRuntimeCommand.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as any UserFacingError {
            // Every error a person meets, in one shape: the message, its cause, one thing to do; with
            // --json, the same parts and the code as one object, for a script.
            if CommandLine.arguments.contains("--json") {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                let data = (try? encoder.encode(["error": error.problem])) ?? Data()
                FileHandle.standardError.write(data + Data("\n".utf8))
            } else {
                FileHandle.standardError.write(Data("Error: \(error.rendered)\n".utf8))
            }
            exit(EXIT_FAILURE)
        } catch {
            HermesRuntimeCommand.exit(withError: error)
        }
    }
}
