import Synchronization

/// Counts lines a log could not write (a full disk, a removed directory) and says when a person should
/// be told: once when writes start failing, once when they work again, never once per line.
///
/// The event log and the server logs each keep one; the daemon turns the counts into
/// `hermes_events_dropped_total` and the transitions into one daemon log line each.
public final class WriteFailureTally: Sendable {
    /// What a caller should say after recording a write.
    public enum Transition: Sendable, Equatable {
        /// Nothing new: still writing, or still failing.
        case none
        /// The first failure after a good write (or at start).
        case startedFailing
        /// The first good write after failures; carries how many were lost meanwhile.
        case recovered(lost: Int)
    }

    struct State {
        var total = 0
        var failing = false
        var lostThisEpisode = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Lines lost since the process started.
    public var dropped: Int { state.withLock { $0.total } }

    /// Records one write; `ok` is whether every byte of it was written.
    public func record(ok: Bool) -> Transition {
        state.withLock { s in
            if ok {
                guard s.failing else { return .none }
                s.failing = false
                defer { s.lostThisEpisode = 0 }
                return .recovered(lost: s.lostThisEpisode)
            }
            s.total &+= 1
            s.lostThisEpisode &+= 1
            guard !s.failing else { return .none }
            s.failing = true
            return .startedFailing
        }
    }
}
