import ArgumentParser
import Foundation
import HermesCore

/// `hermes-runtime service install [--system] [--start PROFILE ...] [--executable PATH] [--print]`: writes the
/// unit; does not run systemctl.
struct ServiceInstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Write a systemd unit running `hermes-runtime serve` (a user unit for this config root, or with --system a system unit with its own user), and print how to enable it."
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("start"), help: "Start this profile when the service starts (repeatable).")
    var startProfiles: [String] = []

    @Flag(name: .customLong("system"),
          help: "A system unit: runs as the user hermes-runtime, config in /etc/hermes-runtime, state in /var/lib/hermes-runtime (written to /etc/systemd/system).")
    var system = false

    @Option(name: .customLong("executable"), help: "The binary the unit runs (default: this one). For packagers.")
    var executable: String?

    @Flag(name: .customLong("print"), help: "Print the unit instead of writing it.")
    var printOnly = false

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        // The binary that is running now, so the unit runs this same build.
        let exe = executable ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        guard exe.hasPrefix("/") else { throw CLIError("--executable must be an absolute path, not '\(exe)'", code: "bad_option") }
        if system { return try installSystem(executable: exe) }
        let paths = global.paths()
        try checkStartProfiles(paths)
        // The default root is written as systemd's %h, so the same unit serves any user (the package ships it).
        let defaultRoot = RuntimePaths.resolve(configOverride: nil, environment: env.filter { $0.key != "HERMES_RUNTIME_HOME" }).configRoot
        let root = paths.configRoot == defaultRoot ? SystemdUnit.homeConfigRoot : paths.configRoot.path
        let unit = SystemdUnit(executable: exe, configRoot: root, startProfiles: startProfiles, environmentFile: root + "/keys.env")
        if printOnly {
            print(unit.text, terminator: "")
            return
        }
        let path = SystemdUnit.path(environment: env)
        let savedAs = try Self.write(unit.text, to: path)
        if global.json {
            printJSON(Out(unit: path, previousSavedAs: savedAs, commands: unit.enableCommands))
            return
        }
        print("wrote \(path)" + (savedAs.map { " (the previous unit is in \($0))" } ?? ""))
        print("  ExecStart: \(unit.text.split(separator: "\n").first { $0.hasPrefix("ExecStart=") }?.dropFirst(10) ?? "")")
        print("  keys for cloud profiles: \(paths.configRoot.appendingPathComponent("keys.env").path) (NAME=value lines; chmod 600)")
        print("enable and start it (hermes-runtime does not run systemctl itself):")
        for c in unit.enableCommands { print("  \(c)") }
        print("logs: journalctl --user -u hermes-runtime -f; each server: hermes-runtime logs PROFILE")
        print("to keep it running after you log out: loginctl enable-linger $USER")
    }

    private func installSystem(executable: String) throws {
        let unit = SystemdSystemUnit(executable: executable, startProfiles: startProfiles)
        try checkStartProfiles(RuntimePaths(configRoot: URL(fileURLWithPath: unit.configRoot), stateDirectory: URL(fileURLWithPath: unit.stateDirectory)))
        if printOnly {
            print(unit.text, terminator: "")
            return
        }
        let path = SystemdSystemUnit.adminPath
        let savedAs = try Self.write(unit.text, to: path, hint: "run it as root (sudo), or --print shows the unit to place by hand")
        let commands = unit.accountCommands + unit.enableCommands
        if global.json {
            printJSON(Out(unit: path, previousSavedAs: savedAs, commands: commands))
            return
        }
        print("wrote \(path)" + (savedAs.map { " (the previous unit is in \($0))" } ?? ""))
        print("  runs as \(unit.user): config \(unit.configRoot) (HERMES_RUNTIME_HOME), state \(unit.stateDirectory) (HERMES_RUNTIME_STATE)")
        print("the account, its GPU groups and directories, then enable and start it (as root; hermes-runtime runs none of this itself):")
        for c in commands { print("  \(c)") }
        print("config: sudo hermes-runtime init --config \(unit.configRoot) (files readable by the group \(unit.user))")
        print("status: sudo hermes-runtime status --config \(unit.configRoot); logs: journalctl -u hermes-runtime -f")
    }

    private func checkStartProfiles(_ paths: RuntimePaths) throws {
        guard !startProfiles.isEmpty else { return }
        let config = try ConfigLoader.load(paths: paths)
        for p in startProfiles {
            let profile = try config.requireProfile(p, paths: paths)
            guard profile.isLocal else {
                throw CLIError("'\(p)' is a \(profile.kindName) profile: there is nothing to start", hint: "--start takes llama-server profiles", code: "not_local")
            }
        }
    }

    private struct Out: Encodable {
        var unit: String
        var previousSavedAs: String?
        var commands: [String]
    }

    /// Writes `text` to `path` (atomically), keeping a different previous unit as `path.bak`.
    private static func write(_ text: String, to path: String, hint: String = "--print shows the unit to place by hand") throws -> String? {
        let url = URL(fileURLWithPath: path)
        let previous = FileManager.default.contents(atPath: path)
        var savedAs: String?
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            if let previous, previous != Data(text.utf8) {
                savedAs = path + ".bak"
                try previous.write(to: URL(fileURLWithPath: path + ".bak"), options: .atomic)
            }
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw CLIError("cannot write \(path)", hint: hint, cause: "\(error)", code: "cannot_write")
        }
        return savedAs
    }
}
