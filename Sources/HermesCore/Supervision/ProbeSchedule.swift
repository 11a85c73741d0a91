/// When the liveness loop probes a running server: `/health` every `interval` seconds, a one-token
/// generation every `generationInterval` (0: never), except that a generation probe whose turn comes
/// while every slot is busy is skipped (the server is producing tokens; a probe would only queue behind
/// real work) and its next turn is a whole interval later.
///
/// Pure: the caller passes the time (seconds on the supervisor's own monotonic clock, the only clock
/// the loop reads), so the schedule is tested without sleeping (`ProbeScheduleTests`).
public struct ProbeSchedule: Sendable, Equatable {
    public let interval: Double
    public let generationInterval: Double
    public private(set) var nextHealth: Double
    public private(set) var nextGeneration: Double

    /// The first health probe is one interval after `now`; the first generation probe one generation
    /// interval after it, and never sooner than a second.
    public init(interval: Double, generationInterval: Double, startingAt now: Double) {
        self.interval = interval
        self.generationInterval = generationInterval
        nextHealth = now + interval
        nextGeneration = now + max(generationInterval, 1)
    }

    public init(_ health: ResolvedHealth, startingAt now: Double) {
        self.init(interval: health.interval, generationInterval: health.generationInterval, startingAt: now)
    }

    /// True when a health probe is due at `now`; the next one is then an interval after this turn (so a
    /// loop that ticks late does not drift), or after `now` when the loop was held up past it (one probe,
    /// not one per missed turn).
    public mutating func healthDue(at now: Double) -> Bool {
        guard now >= nextHealth else { return false }
        nextHealth = Self.next(after: nextHealth, every: interval, now: now)
        return true
    }

    /// True when a generation probe is due at `now` and is to be sent; a turn that comes while every
    /// slot is busy (`slotsFull`) passes without one.
    public mutating func generationDue(at now: Double, slotsFull: Bool) -> Bool {
        guard generationInterval > 0, now >= nextGeneration else { return false }
        nextGeneration = Self.next(after: nextGeneration, every: generationInterval, now: now)
        return !slotsFull
    }

    private static func next(after turn: Double, every interval: Double, now: Double) -> Double {
        let next = turn + interval
        return next > now ? next : now + interval
    }
}
