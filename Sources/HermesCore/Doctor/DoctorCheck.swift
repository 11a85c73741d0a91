import Foundation

/// One line of `hermes-runtime doctor`: what was checked, how it went, and what to do about it.
public struct DoctorCheck: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable, Comparable {
        case ok, warn, fail
        var rank: Int { self == .ok ? 0 : self == .warn ? 1 : 2 }
        public static func < (a: Status, b: Status) -> Bool { a.rank < b.rank }
    }

    /// A short name for the kind of check: `llama-server`, `dialect`, `flags`, `model`, `port`, `key`, ...
    public var check: String
    /// The profile it is about, if any.
    public var profile: String?
    public var status: Status
    /// What was found, for a person. Never holds a secret.
    public var message: String
    /// One thing to do about a warn or a fail.
    public var fix: String?

    public init(_ status: Status, _ check: String, profile: String? = nil, _ message: String, fix: String? = nil) {
        self.check = check
        self.profile = profile
        self.status = status
        self.message = message
        self.fix = fix
    }

    /// `fail  coding-local flags: --mlock is not accepted ... -> fix: write mlock: true`.
    public var line: String {
        let subject = profile.map { "\($0) \(check)" } ?? check
        var s = "\(status.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0))  \(subject): \(message)"
        if let fix, status != .ok { s += " -> fix: \(fix)" }
        return s
    }
}

/// Every check of a `doctor` run.
public struct DoctorReport: Sendable, Equatable, Codable {
    public var checks: [DoctorCheck]
    public init(checks: [DoctorCheck] = []) { self.checks = checks }

    public var failed: Bool { checks.contains { $0.status == .fail } }
    public func count(_ status: DoctorCheck.Status) -> Int { checks.filter { $0.status == status }.count }
    /// `12 ok, 1 warn, 2 fail`.
    public var summary: String { "\(count(.ok)) ok, \(count(.warn)) warn, \(count(.fail)) fail" }
}

/// Checks that need only the loaded config: no processes, sockets or network.
public enum ConfigChecks {
    /// The front's address and auth: off loopback it must require a key, and that key must be set.
    public static func front(_ front: FrontSettings, environment: [String: String]) -> [DoctorCheck] {
        let address = front.host.contains(":") ? "[\(front.host)]:\(front.port)" : "\(front.host):\(front.port)"
        let loopback = isLoopback(front.host)
        var out: [DoctorCheck] = []
        if let variable = front.apiKeyEnv {
            if (environment[variable] ?? "").isEmpty {
                out.append(DoctorCheck(.fail, "front", "listens on \(address) and wants clients to send the key in \(variable), which is not set (the front cannot check anyone)",
                                       fix: "export \(variable)=... where the daemon runs (systemd: keys.env)"))
            } else {
                out.append(DoctorCheck(.ok, "front", "listens on \(address); clients must send the key in \(variable) (set, value not shown)"))
            }
        } else if loopback {
            out.append(DoctorCheck(.ok, "front", "listens on \(address) (loopback: only this machine can reach it, no key needed)"))
        } else {
            out.append(DoctorCheck(.fail, "front", "listens on \(address), off loopback, with no api_key_env: anyone who can reach it spends your cloud keys",
                                   fix: "set front.api_key_env in runtime.yaml, or listen on 127.0.0.1"))
        }
        if front.defaultProfile == nil {
            out.append(DoctorCheck(.warn, "front", "no front.default: a request naming no known model is refused",
                                   fix: "set front.default in runtime.yaml to the profile most requests should use"))
        }
        return out
    }

    /// The config loader's errors and warnings, split into burst/fallback chain problems and the rest.
    /// Missing-model warnings are left out: the model check reports them with more detail.
    public static func diagnostics(_ diagnostics: [ConfigDiagnostic], root: String) -> (chains: [DoctorCheck], config: [DoctorCheck]) {
        var chains: [DoctorCheck] = []
        var config: [DoctorCheck] = []
        for d in diagnostics {
            if d.severity == .warning, d.keyPath == "model" { continue }
            let status: DoctorCheck.Status = d.severity == .error ? .fail : .warn
            let isChain = d.message.contains("cycle") || ["burst", "fallback"].contains(d.keyPath ?? "")
            let location = relative(d.file, to: root) + (d.line.map { ":\($0)" } ?? "")
            let check = DoctorCheck(status, isChain ? "chains" : "config", "\(location): \(d.message)",
                                    fix: isChain ? "edit burst/fallback so every chain ends (`hermes-runtime config validate` shows the lines)"
                                        : "`hermes-runtime config validate` shows every problem with its line")
            if isChain { chains.append(check) } else { config.append(check) }
        }
        return (chains, config)
    }

    /// Every burst/fallback chain of `profiles`, e.g. `coding-local -> coding-burst -> coding-burst-together`.
    public static func chains(_ config: HermesConfig, profiles: [String]) -> [String] {
        var out: [String] = []
        for name in profiles {
            guard let p = config.profiles[name], p.burst != nil || !p.fallback.isEmpty else { continue }
            var seen = [name]
            var frontier = [name]
            while let n = frontier.first {
                frontier.removeFirst()
                guard let q = config.profiles[n] else { continue }
                for next in [q.burst].compactMap({ $0 }) + q.fallback where !seen.contains(next) {
                    seen.append(next)
                    frontier.append(next)
                }
            }
            out.append(seen.joined(separator: " -> "))
        }
        return out
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    static func relative(_ file: String, to root: String) -> String {
        file.hasPrefix(root + "/") ? String(file.dropFirst(root.count + 1)) : file
    }
}
