import Foundation
import HermesCore
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

/// An error answer on the control socket: a user-facing error's four parts (`Problem`), plus, for a
/// failed start, the log's tail as lines (`cause` carries them too, for a client that only prints).
public struct ControlError: Codable, UserFacingError, CustomStringConvertible {
    public var code: String
    public var message: String
    public var hint: String?
    public var cause: String?
    public var lastLogLines: [String]?

    public init(_ code: String, message: String, hint: String? = nil, cause: String? = nil, lastLogLines: [String]? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.cause = cause ?? Problem.logCause(lastLogLines)
        self.lastLogLines = lastLogLines
    }

    /// Any error the daemon meets, in the shape it is sent in.
    public init(_ error: any Error) {
        let p = Problem(error)
        self.init(p.code, message: p.message, hint: p.hint, cause: p.cause)
        if let f = error as? StartFailure { lastLogLines = f.lastLogLines.isEmpty ? nil : f.lastLogLines }
    }

    enum CodingKeys: String, CodingKey { case code, message, hint, cause, lastLogLines }

    /// An answer from a daemon older than `code` and `cause` still reads (`daemon restart` meets one).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let lines = try c.decodeIfPresent([String].self, forKey: .lastLogLines)
        self.init(try c.decodeIfPresent(String.self, forKey: .code) ?? "daemon_error", message: try c.decode(String.self, forKey: .message),
                  hint: try c.decodeIfPresent(String.self, forKey: .hint), cause: try c.decodeIfPresent(String.self, forKey: .cause),
                  lastLogLines: lines)
    }

    public var description: String { rendered }
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
