import Foundation

/// Consecutive failures of each remote, so that one transient 502 does not lock a profile out.
///
/// Why: a single 5xx used to cool a remote for its whole `cooldown`, and a cooling remote was skipped
/// without a try, so a sole cloud profile answered 502 for 30 s after one blip. Envoy's outlier
/// detection ejects a host only after consecutive 5xx (5 by default); here `cooldown_after` (3).
/// A value: the time goes in (seconds on a monotonic clock), a count comes out.
public struct FailureStreaks: Sendable, Equatable {
    struct Streak: Sendable, Equatable {
        var count: Int
        var since: Double
    }

    var streaks: [String: Streak] = [:]

    public init() {}

    /// Records a failure of `profile` at `now`; returns how many failures in a row it has had, counting
    /// from the first one less than `window` seconds ago (an older streak starts over).
    public mutating func failed(_ profile: String, at now: Double, window: Double) -> Int {
        if var s = streaks[profile], now - s.since < window {
            s.count = min(s.count, Int.max - 1) + 1
            streaks[profile] = s
            return s.count
        }
        streaks[profile] = Streak(count: 1, since: now)
        return 1
    }

    /// An answer came: the streak ends.
    public mutating func succeeded(_ profile: String) {
        streaks[profile] = nil
    }

    /// The current streak (0 when none).
    public func count(_ profile: String) -> Int { streaks[profile]?.count ?? 0 }
}

/// Where a request's remaining candidate stands, for the half-open rule.
public enum CandidateStanding: Sendable, Equatable {
    /// Can be tried now (a local profile, or a remote not cooling down).
    case open
    /// Cooling down for this many more seconds; `rateLimited` when a 429 put it there.
    case cooling(seconds: Double, rateLimited: Bool)
}

extension AttemptPlan {
    /// The reason (receipt, event) of a try that was a half-open probe.
    public static let halfOpenReason = "half_open"

    /// Whether the first of `left` (the candidates not yet tried, in order) is tried although it cools
    /// down: a half-open probe. Yes when it cools for failures (not a rate limit), nothing after it is
    /// open, and no other failure-cooled candidate after it comes out of its cooldown sooner. So the last
    /// door is never locked: a request that has nowhere else to go tries the profile most likely to be
    /// back, and its answer (success or failure) updates the cooldown.
    public static func probesHalfOpen(_ left: [CandidateStanding]) -> Bool {
        guard case .cooling(let mine, false)? = left.first else { return false }
        for standing in left.dropFirst() {
            switch standing {
            case .open: return false
            case .cooling(let seconds, let rateLimited):
                if !rateLimited, seconds < mine { return false }
            }
        }
        return true
    }

    /// Whether a failed try cools `profile` down: a 429 always (its Retry-After is the provider's word);
    /// another failure only once it is the `cooldown_after`-th in a row (`failures`, counting this one).
    public static func cools(after end: AttemptEnd, failures: Int, settings: OpenAISettings) -> Bool {
        switch end.kind {
        case .status(429): return true
        case .cooldown, .down: return false
        default: return failures >= settings.effectiveCooldownAfter
        }
    }
}
