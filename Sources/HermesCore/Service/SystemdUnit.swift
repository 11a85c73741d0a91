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
    /// The default config root as systemd writes it (`%h`: the home of the user the unit runs for), so
    /// one unit text serves every user: the package ships it in `/usr/lib/systemd/user`.
    public static let homeConfigRoot = "%h/.config/hermes-runtime"

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
        let command = ([executable, "serve", "--config"].map(Self.quote) + [Self.rootWord(configRoot)]
            + startProfiles.flatMap { ["--start", $0] }.map(Self.quote)).joined(separator: " ")
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
            EnvironmentFile=-\(Self.rootWord(environmentFile, quoted: false))

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

    /// `homeConfigRoot` (and paths under it) keep their `%h`; any other path is quoted or escaped.
    static func rootWord(_ path: String, quoted: Bool = true) -> String {
        let escape = { (s: String) -> String in quoted ? quote(s) : escapePercent(s) }
        guard path == homeConfigRoot || path.hasPrefix(homeConfigRoot + "/") else { return escape(path) }
        let rest = String(path.dropFirst(homeConfigRoot.count))
        guard !rest.isEmpty else { return homeConfigRoot }
        let word = escape(rest)
        // A quoted rest ("/my keys.env") moves its opening quote to the front of the whole word.
        return word.hasPrefix("\"") ? "\"" + homeConfigRoot + word.dropFirst() : homeConfigRoot + word
    }

    static func escapePercent(_ s: String) -> String { s.replacingOccurrences(of: "%", with: "%%") }
}
