import ArgumentParser
import Foundation
import HermesCore

/// `hermes-runtime service uninstall [--system] [--force]`: removes the unit `service install` wrote; does not run systemctl.
struct ServiceUninstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall",
        abstract: "Remove the systemd unit `service install` wrote (--system: the system unit), and print how to stop it first."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Remove the unit even if `service install` did not write it.")
    var force = false

    @Flag(name: .customLong("system"), help: "The system unit `service install --system` wrote (/etc/systemd/system).")
    var system = false

    func run() async throws {
        let path = system ? SystemdSystemUnit.adminPath : SystemdUnit.path(environment: ProcessInfo.processInfo.environment)
        let target = system ? "multi-user.target" : "default.target"
        let systemctl = system ? "systemctl" : "systemctl --user"
        guard let data = FileManager.default.contents(atPath: path) else {
            print("no unit at \(path): nothing to remove")
            return
        }
        // Ours starts with the line `service install` writes; anything else is the user's own unit.
        guard force || String(decoding: data, as: UTF8.self).hasPrefix("# Written by `hermes-runtime service install") else {
            throw CLIError("\(path) was not written by `hermes-runtime service install`", hint: "remove it by hand, or pass --force")
        }
        // `enable` made this link; removing it is what `disable` does, and works once the unit is gone too.
        let wants = URL(fileURLWithPath: path).deletingLastPathComponent()
            .appendingPathComponent("\(target).wants/\(SystemdUnit.name)").path
        let wasEnabled = (try? FileManager.default.destinationOfSymbolicLink(atPath: wants)) != nil
        do {
            if wasEnabled { try FileManager.default.removeItem(atPath: wants) }
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw CLIError("cannot remove \(path)", cause: "\(error)", code: "cannot_remove")
        }
        let commands = ["\(systemctl) stop hermes-runtime", "\(systemctl) daemon-reload"]
        if global.json {
            struct Out: Encodable {
                var removed: String
                var commands: [String]
            }
            printJSON(Out(removed: path, commands: commands))
            return
        }
        print("removed \(path)" + (wasEnabled ? " and its enable link" : ""))
        print("stop it if it runs, and let systemd forget it (hermes-runtime does not run systemctl itself):")
        for c in commands { print("  \(c)") }
    }
}
