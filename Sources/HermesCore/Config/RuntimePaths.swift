import Foundation

/// Where hermes-runtime reads config and keeps state.
///
/// The config root is `--config`, else `$HERMES_RUNTIME_HOME`, else `~/.config/hermes-runtime`. State
/// (control socket, pid files, logs, events, backups) lives in `~/.local/state/hermes-runtime` for the
/// default root, in `/var/lib/hermes-runtime` for the system service's root `/etc/hermes-runtime`, and under
/// `<root>/state` for any other root, so two roots never share a daemon. `$HERMES_RUNTIME_STATE` overrides.
public struct RuntimePaths: Sendable, Equatable {
    /// The directory holding `runtime.yaml` and `runtimes/NAME.yaml`.
    public var configRoot: URL
    /// The daemon's directory: control socket, pid and state files, logs, events.
    public var stateDirectory: URL

    public init(configRoot: URL, stateDirectory: URL) {
        self.configRoot = configRoot.standardizedFileURL
        self.stateDirectory = stateDirectory.standardizedFileURL
    }

    /// The system service's config root and state (`service install --system`, the .deb).
    public static let systemConfigRoot = "/etc/hermes-runtime"
    public static let systemStateDirectory = "/var/lib/hermes-runtime"

    public var runtimeFile: URL { configRoot.appendingPathComponent("runtime.yaml") }
    public var profilesDirectory: URL { configRoot.appendingPathComponent("runtimes") }
    public var backupsDirectory: URL { configRoot.appendingPathComponent("backups") }
    public var logsDirectory: URL { stateDirectory.appendingPathComponent("logs") }
    public var controlSocket: URL { stateDirectory.appendingPathComponent("control.sock") }
    public var daemonPidFile: URL { stateDirectory.appendingPathComponent("daemon.pid") }
    public var daemonLog: URL { logsDirectory.appendingPathComponent("daemon.log") }
    public var eventsFile: URL { stateDirectory.appendingPathComponent("events.jsonl") }
    public var serversDirectory: URL { stateDirectory.appendingPathComponent("servers") }
    public var dialectCacheDirectory: URL { stateDirectory.appendingPathComponent("dialects") }

    public func profileFile(_ name: String) -> URL {
        profilesDirectory.appendingPathComponent("\(name).yaml")
    }

    public func serverLog(_ profile: String) -> URL {
        logsDirectory.appendingPathComponent("\(profile).log")
    }

    public static func resolve(configOverride: String?, environment: [String: String]) -> RuntimePaths {
        let home = URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory())
        let defaultRoot = home.appendingPathComponent(".config/hermes-runtime")
        let chosen: URL
        if let c = configOverride, !c.isEmpty {
            chosen = URL(fileURLWithPath: expandTilde(c, home: home.path))
        } else if let h = environment["HERMES_RUNTIME_HOME"], !h.isEmpty {
            chosen = URL(fileURLWithPath: expandTilde(h, home: home.path))
        } else {
            chosen = defaultRoot
        }
        let state: URL
        if let s = environment["HERMES_RUNTIME_STATE"], !s.isEmpty {
            state = URL(fileURLWithPath: expandTilde(s, home: home.path))
        } else if chosen.standardizedFileURL == defaultRoot.standardizedFileURL {
            state = home.appendingPathComponent(".local/state/hermes-runtime")
        } else if chosen.standardizedFileURL.path == systemConfigRoot {
            state = URL(fileURLWithPath: systemStateDirectory)
        } else {
            state = chosen.appendingPathComponent("state")
        }
        return RuntimePaths(configRoot: chosen, stateDirectory: state)
    }
}

/// `~` and `~/x` become the home directory.
public func expandTilde(_ path: String, home: String = NSHomeDirectory()) -> String {
    if path == "~" { return home }
    if path.hasPrefix("~/") { return home + path.dropFirst(1) }
    return path
}
