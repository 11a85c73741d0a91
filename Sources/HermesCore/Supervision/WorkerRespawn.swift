import Foundation

/// What the daemon's guard does when the worker (the process running the front, the probes and the
/// control socket) ends. Pure: the guard passes the times, so the policy is tested without sleeping.
///
/// The worker ends on purpose with a code that says why: 0 (stopped: the guard ends too),
/// `handoffCode` (`daemon restart`: a new worker is started at once, the servers keep running) or
/// `configCode` (it could not start: bad config, another daemon holds the root; retrying cannot help).
/// Anything else is a crash: a new worker follows within a fraction of a second, slower when it
/// keeps crashing, and the guard gives up after `maxCrashes` crashes within `window` seconds.
public struct WorkerRespawnPolicy: Sendable, Equatable {
    public static let handoffCode: Int32 = 75
    public static let configCode: Int32 = 78

    public enum Exit: Sendable, Equatable {
        case code(Int32)
        case signal(Int32)
    }

    public enum Decision: Sendable, Equatable {
        case respawn(after: Double)
        case exit(code: Int32, reason: String)
    }

    public var backoff: [Double] = [0.1, 0.5, 1, 2, 5]
    public var maxCrashes = 10
    public var window: Double = 60
    public private(set) var crashes: [Double] = []

    public init() {}

    /// The worker ended at `now`. `stopping`: the guard itself was asked to stop (SIGTERM, SIGINT).
    public mutating func workerEnded(_ exit: Exit, at now: Double, stopping: Bool) -> Decision {
        if stopping {
            switch exit {
            case .code(let c): return .exit(code: c == Self.handoffCode ? 0 : c, reason: "stopped")
            case .signal(let s): return .exit(code: 128 + s, reason: "stopped")
            }
        }
        switch exit {
        case .code(0): return .exit(code: 0, reason: "the daemon stopped")
        case .code(Self.configCode): return .exit(code: Self.configCode, reason: "the daemon could not start")
        case .code(Self.handoffCode):
            crashes.removeAll()
            return .respawn(after: 0)
        default: break
        }
        crashes.removeAll { now - $0 > window }
        crashes.append(now)
        if crashes.count > maxCrashes {
            return .exit(code: 1, reason: "the daemon crashed \(crashes.count) times within \(Int(window)) s")
        }
        return .respawn(after: backoff.isEmpty ? 0 : backoff[min(crashes.count - 1, backoff.count - 1)])
    }

    /// "exited with code 3", "killed by signal 9".
    public static func describe(_ exit: Exit) -> String {
        switch exit {
        case .code(let c): return "exited with code \(c)"
        case .signal(let s): return "killed by signal \(s)"
        }
    }
}
