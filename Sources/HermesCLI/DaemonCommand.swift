import ArgumentParser

/// `hermes-runtime daemon stop | restart`.
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "daemon", abstract: "Control the daemon itself.",
                                                    subcommands: [DaemonStopCommand.self, DaemonRestartCommand.self])
}
