import Foundation
import HermesSupervisor

/// `GET /v1/status` on the control socket.
public struct DaemonStatus: Codable, Sendable {
    public var pid: Int32
    public var startedAt: Date
    public var configRoot: String
    /// The routing front's base URL, e.g. `http://127.0.0.1:8082/v1`, when it is listening.
    public var front: String?
    /// Why the front is not serving, when it is not (its key unset, its port taken).
    public var frontError: String?
    /// True while the daemon drains and stops: it still answers, `start` is refused.
    public var stopping: Bool?
    /// Seconds a stop waits for requests in flight (`daemon.drain_timeout`).
    public var drainTimeout: Int?
    /// The guard process that restarts this daemon when it dies.
    public var guardPid: Int32?
    public var servers: [ServerStatus]
    /// Running servers' last use and idle unload (absent from older daemons).
    public var models: [ModelUsage]?

    public init(pid: Int32, startedAt: Date, configRoot: String, front: String?, servers: [ServerStatus]) {
        self.pid = pid
        self.startedAt = startedAt
        self.configRoot = configRoot
        self.front = front
        self.servers = servers
    }
}

/// An error answer on the control socket: the message, a hint, and for a failed start the log's tail.
public struct ControlError: Codable, Sendable, Error, CustomStringConvertible {
    public var message: String
    public var hint: String?
    public var lastLogLines: [String]?

    public init(message: String, hint: String? = nil, lastLogLines: [String]? = nil) {
        self.message = message
        self.hint = hint
        self.lastLogLines = lastLogLines
    }

    public var description: String {
        var s = message
        if let lines = lastLogLines, !lines.isEmpty { s += "\nlast log lines:\n" + lines.map { "  \($0)" }.joined(separator: "\n") }
        if let hint { s += "\nhint: \(hint)" }
        return s
    }
}

/// The JSON shape of the control API: snake_case keys, ISO 8601 dates.
public enum ControlCodec {
    public static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return e
    }()
    public static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .iso8601
        return d
    }()
}

/// One running server's use, for `status`: when it was last used and when it will be unloaded.
public struct ModelUsage: Codable, Sendable, Equatable {
    public var profile: String
    /// `manual`, `always` or `on-demand`.
    public var load: String
    public var pinned: Bool
    public var inFlight: Int
    /// The front's last request on it, or its load when it has had none.
    public var lastUse: Date
    public var idleSeconds: Double
    /// `idle_unload` in seconds; 0 = never.
    public var idleUnloadSeconds: Double
    /// When it will be unloaded if nothing uses it; nil = not by the idle timer.
    public var unloadsAt: Date?

    public init(profile: String, load: String, pinned: Bool, inFlight: Int, lastUse: Date, idleSeconds: Double,
                idleUnloadSeconds: Double, unloadsAt: Date?) {
        self.profile = profile
        self.load = load
        self.pinned = pinned
        self.inFlight = inFlight
        self.lastUse = lastUse
        self.idleSeconds = idleSeconds
        self.idleUnloadSeconds = idleUnloadSeconds
        self.unloadsAt = unloadsAt
    }
}
