import Foundation

/// What we record of a server, to recognise it after a daemon restart (pid + start time + command line,
/// so a reused pid is never taken for ours) and to carry on where the other daemon left off.
///
/// The keeper writes it once the server is spawned (`STATE/servers/NAME.json`); the daemon adds what
/// only it knows (restarts, when the server became ready) and rewrites it atomically.
public struct ServerRecord: Codable, Sendable, Equatable {
    public var profile: String
    public var pid: Int32
    public var startTime: UInt64
    public var executable: String
    public var arguments: [String]
    public var port: Int
    public var host: String?
    /// The keeper that owns the server (its parent), and its start time.
    public var keeperPid: Int32?
    public var keeperStartTime: UInt64?
    public var startedAt: Date?
    public var readyAt: Date?
    public var restarts: Int?

    public init(profile: String, pid: Int32, startTime: UInt64, executable: String, arguments: [String], port: Int) {
        self.profile = profile
        self.pid = pid
        self.startTime = startTime
        self.executable = executable
        self.arguments = arguments
        self.port = port
    }

    /// True when `pid` is still this very process (and not a zombie waiting to be reaped).
    public var isStillRunning: Bool {
        guard ProcessInfoReader.isRunning(pid, startTime: startTime) else { return false }
        guard let cmd = ProcessInfoReader.commandLine(pid) else { return false }
        return Array(cmd.dropFirst()) == arguments
    }

    public static func file(_ profile: String, in directory: URL) -> URL { directory.appendingPathComponent("\(profile).json") }
    public static func exitFile(_ profile: String, in directory: URL) -> URL { directory.appendingPathComponent("\(profile).exit") }

    public static func read(_ url: URL) -> ServerRecord? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return try? JSONDecoder().decode(ServerRecord.self, from: data)
    }

    public func write(to url: URL) {
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if let data = try? JSONEncoder().encode(self) { try? data.write(to: url, options: .atomic) }
    }
}

/// How a kept server ended, written by its keeper next to the record.
public struct ServerExit: Codable, Sendable, Equatable {
    /// The raw wait status, or -1 when the server never ran.
    public var status: Int32
    public var reason: String

    public init(status: Int32, reason: String) {
        self.status = status
        self.reason = reason
    }
}
