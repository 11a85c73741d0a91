import ArgumentParser
import Foundation
import HermesCore

/// `hermes-runtime config ...`
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check and manage the configuration.",
        subcommands: [ConfigValidateCommand.self, ConfigBackupsCommand.self, ConfigRestoreCommand.self]
    )
}
