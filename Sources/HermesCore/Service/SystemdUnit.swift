import Foundation

/// The systemd user unit that runs `hermes-runtime serve` for one config root.
public struct SystemdUnit: Sendable, Equatable {
    /// The hermes-runtime executable, absolute.
    public var executable: String
    /// The config root the daemon serves.
    public var configRoot: String
    /// Profiles started once the daemon is up (`serve --start P`).
    public var startProfiles: [String]
    /// Keys for the cloud profiles, as `NAME=value` lines readable by the user only; optional for systemd.
    public var environmentFile: String

    public static let name = "hermes-runtime.service"

    public init(executable: String, configRoot: String, startProfiles: [String], environmentFile: String) {
        self.executable = executable
        self.configRoot = configRoot
        self.startProfiles = startProfiles
        self.environmentFile = environmentFile
    }

    /// `$XDG_CONFIG_HOME/systemd/user/hermes-runtime.service`, else under `~/.config`.
    public static func path(environment: [String: String]) -> String {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let config = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.config"
        return "\(config)/systemd/user/\(name)"
    }

    /// The unit file's text.
    public var text: String {
        let command = ([executable, "serve", "--config", configRoot] + startProfiles.flatMap { ["--start", $0] })
            .map(Self.quote).joined(separator: " ")
        return """
            # Written by `hermes-runtime service install`; run it again to rewrite.
            [Unit]
            Description=hermes-runtime (llama-server supervisor and routing front)
            After=network.target

            [Service]
            ExecStart=\(command)
            Restart=on-failure
            # SIGTERM to the daemon only: it drains the front and stops its servers itself.
            KillMode=mixed
            TimeoutStopSec=30
            # OPENROUTER_API_KEY=... and other keys, readable by you only (chmod 600)
            EnvironmentFile=-\(Self.escapePercent(environmentFile))

            [Install]
            WantedBy=default.target

            """
    }

    /// The commands that enable and start the unit.
    public var enableCommands: [String] {
        ["systemctl --user daemon-reload", "systemctl --user enable --now hermes-runtime"]
    }

    /// A word of `ExecStart=`: systemd splits on spaces, honours double quotes and expands `%`.
    static func quote(_ word: String) -> String {
        let escaped = escapePercent(word)
        guard escaped.contains(where: { $0 == " " || $0 == "\"" || $0 == "\\" || $0 == "'" || $0 == "\t" }) else { return escaped }
        return "\"" + escaped.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func escapePercent(_ s: String) -> String { s.replacingOccurrences(of: "%", with: "%%") }
}
