/// When a warm-cache server's grown slots are saved while it runs (so a crash or `kill -9` of the
/// server loses little): it has had nothing in flight for `idle` seconds. Pure: the time goes in.
public enum CheckpointSchedule {
    /// `lastFinished`: when its last request ended (nil: none since it started); `grown`: some idle
    /// slot holds more than was last saved of it.
    public static func isDue(now: Double, inFlight: Int, lastFinished: Double?, grown: Bool, idle: Double) -> Bool {
        guard idle > 0, inFlight == 0, grown, let last = lastFinished else { return false }
        return now - last >= idle
    }
}
