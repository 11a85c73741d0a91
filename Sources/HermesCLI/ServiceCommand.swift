import ArgumentParser
import Foundation
import HermesCore

/// `hermes-runtime service ...`: the systemd user service.
struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Run the daemon as a systemd service (a user unit, or --system a system unit with its own user).",
        subcommands: [ServiceInstallCommand.self, ServiceUninstallCommand.self]
    )
}
