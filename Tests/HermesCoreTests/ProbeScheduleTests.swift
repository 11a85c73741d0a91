import Testing

@testable import HermesCore

@Suite struct ProbeScheduleTests {
    /// Runs the schedule the way the liveness loop does, a tick at a time, and returns when each probe
    /// was sent. `full(t)` says whether every slot is busy at `t`.
    func run(_ s: inout ProbeSchedule, until end: Double, tick: Double = 0.05, full: (Double) -> Bool = { _ in false })
        -> (health: [Double], generation: [Double])
    {
        var health: [Double] = [], generation: [Double] = []
        var i = 0
        while Double(i) * tick <= end {
            let t = Double(i) * tick
            if s.healthDue(at: t) { health.append(t) }
            if s.generationDue(at: t, slotsFull: full(t)) { generation.append(t) }
            i += 1
        }
        return (health, generation)
    }

    func near(_ xs: [Double], _ ys: [Double]) -> Bool {
        xs.count == ys.count && zip(xs, ys).allSatisfy { abs($0 - $1) < 0.051 }
    }

    @Test func healthEveryIntervalAndGenerationEveryGenerationInterval() {
        var s = ProbeSchedule(interval: 5, generationInterval: 30, startingAt: 0)
        let r = run(&s, until: 61)
        #expect(near(r.health, [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]), "\(r.health)")
        #expect(near(r.generation, [30, 60]), "\(r.generation)")
    }

    @Test func aGenerationIntervalOfZeroNeverProbesGeneration() {
        var s = ProbeSchedule(interval: 1, generationInterval: 0, startingAt: 0)
        let r = run(&s, until: 100)
        #expect(r.generation.isEmpty)
        #expect(r.health.count == 100)
    }

    @Test func aTurnWhileEverySlotIsBusyIsSkippedNotDeferred() {
        var s = ProbeSchedule(interval: 5, generationInterval: 30, startingAt: 0)
        let r = run(&s, until: 95) { (25...35).contains($0) }
        // The turn at 30 passes; the next is 30 s after it, not as soon as a slot frees.
        #expect(near(r.generation, [60, 90]), "\(r.generation)")
    }

    @Test func theFirstGenerationProbeIsNeverSoonerThanASecond() {
        var s = ProbeSchedule(interval: 0.2, generationInterval: 0.1, startingAt: 10)
        let sent = [10.5, 11, 11.05, 11.1].map { s.generationDue(at: $0, slotsFull: false) }
        #expect(sent == [false, true, false, true])
    }

    @Test func aLateTickProbesOnceAndCountsTheNextIntervalFromThen() {
        // A loop that was held up (a loaded box) sends one probe, not one per missed turn.
        var s = ProbeSchedule(interval: 5, generationInterval: 0, startingAt: 0)
        let sent = [17, 21.9, 22].map { s.healthDue(at: $0) }
        #expect(sent == [true, false, true])
        #expect(s.nextHealth == 27)
    }

    @Test func builtFromResolvedHealthSettings() {
        var h = HealthSettings()
        h.interval = 2
        h.generationInterval = 7
        let s = ProbeSchedule(h.resolved, startingAt: 100)
        #expect(s.nextHealth == 102 && s.nextGeneration == 107)
    }
}
