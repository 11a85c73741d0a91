import ArgumentParser
import Foundation
import HermesCore

/// `hermes-runtime service install [--start PROFILE ...] [--print]`: writes the unit; does not run systemctl.
struct ServiceInstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Write a systemd user unit running `hermes-runtime serve` for this config root, and print how to enable it."
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("start"), help: "Start this profile when the service starts (repeatable).")
    var startProfiles: [String] = []

    @Flag(name: .customLong("print"), help: "Print the unit instead of writing it.")
    var printOnly = false

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let paths = global.paths()
        if !startProfiles.isEmpty {
            let config = try loadConfig(paths)
            for p in startProfiles {
                let profile = try config.requireProfile(p, paths: paths)
                guard profile.isLocal else {
                    throw CLIError("'\(p)' is a \(profile.kindName) profile: there is nothing to start", hint: "--start takes llama-server profiles")
                }
            }
        }
        // The binary that is running now, so the unit runs this same build.
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let unit = SystemdUnit(executable: executable, configRoot: paths.configRoot.path, startProfiles: startProfiles,
                               environmentFile: paths.configRoot.appendingPathComponent("keys.env").path)
        if printOnly {
            print(unit.text, terminator: "")
            return
        }
        let path = SystemdUnit.path(environment: env)
        let url = URL(fileURLWithPath: path)
        let previous = FileManager.default.contents(atPath: path)
        var savedAs: String?
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            if let previous, previous != Data(unit.text.utf8) {
                savedAs = path + ".bak"
                try previous.write(to: URL(fileURLWithPath: savedAs!), options: .atomic)
            }
            try Data(unit.text.utf8).write(to: url, options: .atomic)
        } catch {
            throw CLIError("cannot write \(path): \(error)", hint: "--print shows the unit to place by hand")
        }
        if global.json {
            struct Out: Encodable {
                var unit: String
                var previousSavedAs: String?
                var commands: [String]
            }
            printJSON(Out(unit: path, previousSavedAs: savedAs, commands: unit.enableCommands))
            return
        }
        print("wrote \(path)" + (savedAs.map { " (the previous unit is in \($0))" } ?? ""))
        print("  ExecStart: \(unit.text.split(separator: "\n").first { $0.hasPrefix("ExecStart=") }?.dropFirst(10) ?? "")")
        print("  keys for cloud profiles: \(unit.environmentFile) (NAME=value lines; chmod 600)")
        print("enable and start it (hermes-runtime does not run systemctl itself):")
        for c in unit.enableCommands { print("  \(c)") }
        print("logs: journalctl --user -u hermes-runtime -f; each server: hermes-runtime logs PROFILE")
        print("to keep it running after you log out: loginctl enable-linger $USER")
    }
}
