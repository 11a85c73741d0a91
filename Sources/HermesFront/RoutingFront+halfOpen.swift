import HermesCore
import Synchronization

extension RoutingFront {
    /// Whether the first of `remaining`, a remote cooling down after failures, is tried anyway because nothing left
    /// for this request can be (`AttemptPlan.probesHalfOpen`). Candidates this request may not go to
    /// (their API, an image) do not count as open doors.
    func isHalfOpenProbe(_ remaining: ArraySlice<Candidate>, job: Job) -> Bool {
        guard !remaining.isEmpty else { return false }
        var left: [CandidateStanding] = []
        for (n, candidate) in remaining.enumerated() {
            guard let p = job.state.config.profiles[candidate.profile] else { continue }
            if n > 0, job.state.policy.mismatch(p, job.ctx) != nil { continue }
            if p.openai != nil, let c = cooldowns.cooling(p.name) {
                left.append(.cooling(seconds: c.seconds, rateLimited: c.rateLimited))
            } else {
                left.append(.open)
            }
        }
        return AttemptPlan.probesHalfOpen(left)
    }
}

extension Cooldowns {
    /// Records a failed try of a remote and returns its failures in a row (`FailureStreaks`); a rate
    /// limit, a skip or a local server counts none (1 is returned: `AttemptPlan.cools` ignores it).
    func failures(after end: AttemptEnd, settings: OpenAISettings?) -> Int {
        guard let settings, !end.isLocal else { return 1 }
        switch end.kind {
        case .status(429), .cooldown, .down: return 1
        default:
            let now = (ContinuousClock.now - epoch).seconds
            return streaks.withLock { $0.failed(end.profile, at: now, window: settings.effectiveFailureWindow) }
        }
    }

    /// A remote answered: its streak ends and a failure cooldown (a probe's success) is lifted. A rate
    /// limit's cooldown stays: the provider said when to come back.
    func answered(_ profile: String) {
        streaks.withLock { $0.succeeded(profile) }
        entries.withLock { u in
            if let e = u[profile], !e.rateLimited { u[profile] = nil }
        }
    }
}
