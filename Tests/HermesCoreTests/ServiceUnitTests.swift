import Foundation
import HermesCore
import Testing

/// The systemd units as values: the user unit (`service install`) and the system unit (`service install
/// --system`, the .deb). `systemd-analyze verify` on both runs in the CLI tests (PackageCLITests).
struct ServiceUnitTests {
    /// Lines of a unit, for exact comparisons of the keys that matter.
    private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    @Test func userUnitForTheDefaultRootUsesPercentHSoOneTextServesEveryUser() {
        let unit = SystemdUnit(executable: "/usr/bin/hermes-runtime", configRoot: SystemdUnit.homeConfigRoot, startProfiles: [],
                               environmentFile: SystemdUnit.homeConfigRoot + "/keys.env")
        #expect(lines(unit.text).contains("ExecStart=/usr/bin/hermes-runtime serve --config %h/.config/hermes-runtime"))
        #expect(lines(unit.text).contains("EnvironmentFile=-%h/.config/hermes-runtime/keys.env"))
    }

    @Test(arguments: [
        // (config root, the ExecStart's --config word, the EnvironmentFile line)
        ("/home/u/my config", "\"/home/u/my config\"", "EnvironmentFile=-/home/u/my config/keys.env"),
        ("/srv/50%", "/srv/50%%", "EnvironmentFile=-/srv/50%%/keys.env"),
        ("%h/.config/hermes-runtime", "%h/.config/hermes-runtime", "EnvironmentFile=-%h/.config/hermes-runtime/keys.env"),
        // A literal "%h..." elsewhere is escaped, not taken for the specifier.
        ("/x/%h/.config/hermes-runtime", "/x/%%h/.config/hermes-runtime", "EnvironmentFile=-/x/%%h/.config/hermes-runtime/keys.env"),
    ])
    func userUnitQuotesAndEscapesTheRoot(root: String, word: String, environmentFile: String) {
        let unit = SystemdUnit(executable: "/b/hermes-runtime", configRoot: root, startProfiles: ["p"], environmentFile: root + "/keys.env")
        #expect(lines(unit.text).contains("ExecStart=/b/hermes-runtime serve --config \(word) --start p"), "\(unit.text)")
        #expect(lines(unit.text).contains(environmentFile), "\(unit.text)")
    }

    @Test func userUnitUnderTheHomeRootWithASpaceKeepsPercentHOutsideTheQuote() {
        let unit = SystemdUnit(executable: "/b/h", configRoot: SystemdUnit.homeConfigRoot, startProfiles: [],
                               environmentFile: SystemdUnit.homeConfigRoot + "/my keys.env")
        #expect(lines(unit.text).contains("EnvironmentFile=-%h/.config/hermes-runtime/my keys.env"))
    }

    @Test func systemUnitRunsServeAsItsOwnUserWithTheSystemRootAndState() {
        let unit = SystemdSystemUnit(executable: "/usr/bin/hermes-runtime", startProfiles: ["coding-local"])
        let l = lines(unit.text)
        for expected in [
            "User=hermes-runtime", "Group=hermes-runtime",
            "Environment=HERMES_RUNTIME_HOME=/etc/hermes-runtime", "Environment=HERMES_RUNTIME_STATE=/var/lib/hermes-runtime",
            "Environment=HOME=/var/lib/hermes-runtime",
            "ExecStart=/usr/bin/hermes-runtime serve --start coding-local",
            "StateDirectory=hermes-runtime", "StateDirectoryMode=0750",
            "KillMode=mixed", "EnvironmentFile=-/etc/hermes-runtime/keys.env", "WantedBy=multi-user.target",
        ] {
            #expect(l.contains(expected), "\(expected) in \(unit.text)")
        }
        // Device groups come from the account (usermod), never SupplementaryGroups=: a box without a
        // `render` group would refuse to start the unit.
        #expect(!unit.text.contains("SupplementaryGroups"))
        #expect(unit.text.hasPrefix("# Written by `hermes-runtime service install"), "service uninstall --system recognises it")
        // Every [Service] line is KEY=value (nothing blank or stray inside the section).
        let service = l.drop { $0 != "[Service]" }.dropFirst().prefix { !$0.hasPrefix("[") }
        #expect(service.allSatisfy { $0.hasPrefix("#") || $0.isEmpty == false && $0.contains("=") })
        #expect(!service.contains(""))
    }

    @Test(arguments: [
        // (state directory, the StateDirectory= line or nil)
        ("/var/lib/hermes-runtime", "StateDirectory=hermes-runtime" as String?),
        ("/var/lib/a/b", "StateDirectory=a/b"),
        ("/srv/hermes", nil),
        ("/var/lib/../etc", nil),
        ("/var/lib/", nil),
    ])
    func systemUnitLetsSystemdMakeOnlyAStateDirectoryUnderVarLib(state: String, line: String?) {
        let unit = SystemdSystemUnit(executable: "/usr/bin/hermes-runtime", stateDirectory: state)
        let found = lines(unit.text).first { $0.hasPrefix("StateDirectory=") }
        #expect(found == line)
        #expect(lines(unit.text).contains("Environment=HERMES_RUNTIME_STATE=\(state)"))
    }

    @Test func systemUnitQuotesPathsWithSpaces() {
        let unit = SystemdSystemUnit(executable: "/opt/my tools/hermes-runtime", configRoot: "/etc/my root")
        #expect(lines(unit.text).contains("ExecStart=\"/opt/my tools/hermes-runtime\" serve"))
        #expect(lines(unit.text).contains("Environment=\"HERMES_RUNTIME_HOME=/etc/my root\""))
    }

    @Test func systemAccountCommandsCreateTheUserJoinExistingGPUGroupsAndMakeTheDirectories() {
        let commands = SystemdSystemUnit(executable: "/usr/bin/hermes-runtime").accountCommands
        #expect(commands.first?.contains("useradd --system --user-group --home-dir /var/lib/hermes-runtime") == true)
        #expect(commands.contains("getent group video >/dev/null && usermod -a -G video hermes-runtime"))
        #expect(commands.contains("getent group render >/dev/null && usermod -a -G render hermes-runtime"))
        #expect(commands.contains("install -d -o hermes-runtime -g hermes-runtime -m 0750 /var/lib/hermes-runtime"))
        #expect(commands.contains("install -d -o root -g hermes-runtime -m 2750 /etc/hermes-runtime"))
    }

    @Test(arguments: [
        // (--config, HERMES_RUNTIME_HOME, HERMES_RUNTIME_STATE, config root, state)
        (nil as String?, nil as String?, nil as String?, "/home/u/.config/hermes-runtime", "/home/u/.local/state/hermes-runtime"),
        ("/etc/hermes-runtime", nil, nil, "/etc/hermes-runtime", "/var/lib/hermes-runtime"),
        (nil, "/etc/hermes-runtime/", nil, "/etc/hermes-runtime", "/var/lib/hermes-runtime"),
        (nil, "/etc/hermes-runtime", "/srv/state", "/etc/hermes-runtime", "/srv/state"),
        ("/etc/hermes-runtime-test", nil, nil, "/etc/hermes-runtime-test", "/etc/hermes-runtime-test/state"),
        ("/srv/h", nil, nil, "/srv/h", "/srv/h/state"),
    ])
    func theSystemRootKeepsItsStateInVarLib(config: String?, home: String?, state: String?, root: String, stateDirectory: String) {
        var env = ["HOME": "/home/u"]
        env["HERMES_RUNTIME_HOME"] = home
        env["HERMES_RUNTIME_STATE"] = state
        let paths = RuntimePaths.resolve(configOverride: config, environment: env)
        #expect(paths.configRoot.path == root)
        #expect(paths.stateDirectory.path == stateDirectory)
    }
}
