import Foundation

/// Decides whether a dead or wedged server is restarted, after how long, or given up on.
///
/// Pure: the caller passes the time (`now`, in seconds on any monotonic clock), so the policy is
/// tested without sleeping. Restarts are counted within `window`; a server that stays up for a whole
/// window earns its budget back.
public struct RestartTracker: Sendable, Equatable {
    public enum Decision: Sendable, Equatable {
        /// Restart after `delay` seconds; `attempt` counts restarts within the window, from 1.
        case restart(after: Double, attempt: Int)
        /// Stop trying; the profile becomes `failed` with this reason.
        case giveUp(reason: String)
    }

    public let settings: ResolvedRestart
    /// Times of restarts still inside the window.
    public private(set) var recent: [Double] = []
    /// Restarts since the profile was started, for `status`.
    public private(set) var total = 0
    /// When the current run became ready (nil while not ready).
    public private(set) var readySince: Double?

    /// `restoring` carries the restart count of a server adopted from an earlier daemon, so `status`
    /// keeps counting where the other daemon left off.
    public init(settings: ResolvedRestart, restoring total: Int = 0) {
        self.settings = settings
        self.total = max(0, total)
    }

    public init(settings: RestartSettings, restoring total: Int = 0) {
        self.init(settings: settings.resolved, restoring: total)
    }

    /// The server became ready at `now`.
    public mutating func ready(at now: Double) {
        readySince = now
    }

    /// The server died or was judged wedged at `now`. `cause` goes into the give-up reason.
    public mutating func failed(at now: Double, cause: String) -> Decision {
        let window = settings.window
        if let since = readySince, now - since >= window { recent.removeAll() }
        readySince = nil
        recent.removeAll { now - $0 > window }
        guard settings.enabled else { return .giveUp(reason: "\(cause); restarts are disabled for this profile") }
        let budget = settings.maxRestarts
        if recent.count >= budget {
            return .giveUp(reason: "\(cause); gave up after \(recent.count) restarts within \(Int(window)) s")
        }
        let backoff = settings.backoff
        let delay = backoff.isEmpty ? 0 : backoff[min(recent.count, backoff.count - 1)]
        recent.append(now)
        total += 1
        return .restart(after: delay, attempt: recent.count)
    }
}

/// Turns liveness probe results into a verdict. One failed probe is a hiccup (a loaded CPU, a slow
/// answer) and changes nothing; `failures` consecutive failures make the server unhealthy (the front
/// then tries it first but bursts on error); twice that many mean it is wedged and is restarted.
/// A real request failing while `/health` says 200 counts as a failed probe.
public struct HealthJudge: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        case healthy
        /// Some probes failed in a row, fewer than `failures`: still healthy, noted.
        case degraded(consecutiveFailures: Int, lastReason: String)
        /// `failures` or more in a row; not yet enough to restart.
        case unhealthy(consecutiveFailures: Int, lastReason: String)
        case restart(reason: String)
    }

    public let failuresAllowed: Int
    public private(set) var consecutiveFailures = 0
    public private(set) var lastReason = ""

    public init(failures: Int) {
        self.failuresAllowed = max(1, min(failures, 1000))
    }

    /// Consecutive failures that restart the server.
    public var restartAfter: Int { failuresAllowed * 2 }

    public mutating func probeSucceeded() -> Verdict {
        consecutiveFailures = 0
        return .healthy
    }

    /// A probe failed (`reason`: "health 503", "timeout after 3 s", "generation answered 500", ...).
    public mutating func probeFailed(_ reason: String) -> Verdict {
        consecutiveFailures += 1
        lastReason = reason
        if consecutiveFailures >= restartAfter {
            return .restart(reason: "\(consecutiveFailures) failed probes in a row, last: \(reason)")
        }
        if consecutiveFailures >= failuresAllowed {
            return .unhealthy(consecutiveFailures: consecutiveFailures, lastReason: reason)
        }
        return .degraded(consecutiveFailures: consecutiveFailures, lastReason: reason)
    }

    public mutating func reset() {
        consecutiveFailures = 0
        lastReason = ""
    }

    /// Whether one failed generation probe restarts the server at once. A generation that got no
    /// answer at all while `/health` answers means the inference loop is stuck; on a main with RPC
    /// workers that is a worker whose box vanished (the RPC transport has no keepalive and no timeouts,
    /// so the main never gets out): more probes of 30 s each would only lengthen the outage.
    public static func restartsAtOnce(generationGotNoAnswer: Bool, usesRPCWorkers: Bool) -> Bool {
        generationGotNoAnswer && usesRPCWorkers
    }
}

/// Reads a llama-server log for the reason a start failed and one hint about what to do.
public enum StartFailureHint {
    public static func hint(forLog lines: [String]) -> String? {
        let text = lines.joined(separator: "\n").lowercased()
        if text.contains("error: invalid argument") {
            return "llama-server rejected a flag: check `args:` in the profile against `llama-server --help` (`hermes-runtime doctor` checks them)"
        }
        if text.contains("couldn't bind") || text.contains("address already in use") {
            return "the port is in use: stop what holds it or change `port:` in the profile"
        }
        if text.contains("failed to load model") || text.contains("no such file") || text.contains("failed to open") {
            return "the model file could not be loaded: check `model:` in the profile"
        }
        if text.contains("out of memory") || text.contains("failed to allocate") || text.contains("cudamalloc failed")
            || text.contains("hipmalloc failed") || text.contains("unable to allocate")
        {
            return "out of memory: lower `context` or `slots`, use `cache_type: q8_0`, or offload fewer `gpu_layers`"
        }
        return nil
    }
}
