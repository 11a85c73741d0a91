import ArgumentParser
import Foundation
import HermesCore
import HermesSupervisor

/// `hermes-runtime keeper ...` (hidden): the process that owns one llama-server and outlives the daemon.
/// The daemon starts it; a person never does. See `Keeper` and docs/architecture.md.
struct KeeperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keeper", abstract: "Own one llama-server for the daemon (started by the daemon).", shouldDisplay: false)

    @Option var profile: String
    @Option var host: String
    @Option var port: Int
    @Option var state: String
    @Option var log: String
    @Option(name: .customLong("log-max-bytes")) var logMaxBytes: Int
    @Option(name: .customLong("log-keep")) var logKeep: Int
    @Option var lease: Int
    @Argument(parsing: .postTerminator) var command: [String]

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("the server's command line follows --") }
        guard (1...65535).contains(port), (1...86_400).contains(lease), logMaxBytes >= 4096, (1...100).contains(logKeep) else {
            throw ValidationError("port, lease, log size or log count out of range")
        }
    }

    func run() async throws {
        var logSettings = LogSettings()
        logSettings.maxBytes = logMaxBytes
        logSettings.keep = logKeep
        let keeper = Keeper(profile: profile, host: host, port: port, stateDirectory: URL(fileURLWithPath: state),
                            logFile: URL(fileURLWithPath: log), logSettings: logSettings, lease: lease,
                            executable: command[0], arguments: Array(command.dropFirst()))
        let code = await keeper.run()
        if code != 0 { throw ExitCode(code) }
    }
}
