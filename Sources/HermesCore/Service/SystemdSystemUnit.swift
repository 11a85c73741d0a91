import Foundation

/// The systemd system unit for a headless box: `hermes-runtime serve` as its own user, config in
/// `/etc/hermes-runtime`, state in `/var/lib/hermes-runtime`. The .deb ships it in
/// `/usr/lib/systemd/system`; `service install --system` writes it to `/etc/systemd/system`.
public struct SystemdSystemUnit: Sendable, Equatable {
    /// The hermes-runtime executable, absolute.
    public var executable: String
    /// The account the daemon runs as (created by the package, or by the commands `accountCommands` lists).
    public var user: String
    /// The config root (`HERMES_RUNTIME_HOME`).
    public var configRoot: String
    /// The state directory (`HERMES_RUNTIME_STATE`): control socket, logs, server records; the user's home.
    public var stateDirectory: String
    /// Profiles started once the daemon is up (`serve --start P`).
    public var startProfiles: [String]

    public static let name = "hermes-runtime.service"
    public static let defaultUser = "hermes-runtime"
    public static let defaultConfigRoot = RuntimePaths.systemConfigRoot
    public static let defaultStateDirectory = RuntimePaths.systemStateDirectory
    /// Where `service install --system` writes the unit (an administrator's unit, ahead of a package's).
    public static let adminPath = "/etc/systemd/system/\(name)"
    /// Where the package ships it.
    public static let packagePath = "/usr/lib/systemd/system/\(name)"
    /// The groups that open the GPU (`/dev/kfd`, `/dev/dri/renderD*`), joined when they exist.
    public static let deviceGroups = ["video", "render"]

    public init(executable: String, user: String = defaultUser, configRoot: String = defaultConfigRoot,
                stateDirectory: String = defaultStateDirectory, startProfiles: [String] = []) {
        self.executable = executable
        self.user = user
        self.configRoot = configRoot
        self.stateDirectory = stateDirectory
        self.startProfiles = startProfiles
    }

    /// The unit file's text.
    public var text: String {
        let command = ([executable, "serve"] + startProfiles.flatMap { ["--start", $0] }).map(SystemdUnit.quote).joined(separator: " ")
        // systemd makes the state directory (and its owner) itself when it is under /var/lib; the config
        // root stays root's, readable by the service's group (`accountCommands`).
        let state = Self.relative(stateDirectory, to: "/var/lib").map { "\nStateDirectory=\(SystemdUnit.escapePercent($0))\nStateDirectoryMode=0750" } ?? ""
        return """
            # Written by `hermes-runtime service install --system` (the hermes-runtime package ships the same unit).
            # An upgrade runs `hermes-runtime daemon restart`, never `systemctl restart`: loaded models stay loaded.
            [Unit]
            Description=hermes-runtime (llama-server supervisor and routing front), system service
            Wants=network-online.target
            After=network-online.target

            [Service]
            User=\(user)
            Group=\(user)
            Environment=\(Self.environmentWord("HERMES_RUNTIME_HOME", configRoot))
            Environment=\(Self.environmentWord("HERMES_RUNTIME_STATE", stateDirectory))
            Environment=\(Self.environmentWord("HOME", stateDirectory))
            ExecStart=\(command)\(state)
            Restart=on-failure
            # SIGTERM to the daemon only: it drains the front (daemon.drain_timeout) and stops its servers itself.
            KillMode=mixed
            TimeoutStopSec=60
            # OPENROUTER_API_KEY=... and other keys for cloud profiles (read by systemd as root; chmod 600)
            EnvironmentFile=-\(SystemdUnit.escapePercent(configRoot + "/keys.env"))
            NoNewPrivileges=yes
            ProtectSystem=full
            PrivateTmp=yes

            [Install]
            WantedBy=multi-user.target

            """
    }

    /// The account and directories the unit needs, as shell commands (the package's postinst runs the same).
    public var accountCommands: [String] {
        [
            "getent passwd \(user) >/dev/null || useradd --system --user-group --home-dir \(stateDirectory) --no-create-home --shell /usr/sbin/nologin \(user)",
        ] + Self.deviceGroups.map { "getent group \($0) >/dev/null && usermod -a -G \($0) \(user)" } + [
            "install -d -o \(user) -g \(user) -m 0750 \(stateDirectory)",
            "install -d -o root -g \(user) -m 2750 \(configRoot)",
        ]
    }

    /// The commands that enable and start the unit.
    public var enableCommands: [String] {
        ["systemctl daemon-reload", "systemctl enable --now hermes-runtime"]
    }

    /// `HERMES_RUNTIME_HOME=/etc/x`, double-quoted when it holds a space or a quote (systemd's `Environment=` rules).
    static func environmentWord(_ name: String, _ value: String) -> String {
        let word = "\(name)=\(value)"
        return SystemdUnit.quote(word)
    }

    /// `var/lib/x` under `/var/lib` -> `x`; nil for a path elsewhere or with `..`.
    static func relative(_ path: String, to base: String) -> String? {
        guard path.hasPrefix(base + "/") else { return nil }
        let rest = String(path.dropFirst(base.count + 1))
        guard !rest.isEmpty, !rest.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else { return nil }
        return rest
    }
}
