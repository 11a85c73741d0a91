/// How the front is using a profile right now: what the on-demand manager needs to call a server idle
/// and to order eviction. The front owns these figures (its own requests), the daemon reads them.
public struct ProfileUsage: Sendable, Equatable {
    /// The front's requests in flight (streams count until their last byte).
    public var inFlight: Int
    /// When the front's last request on it ended; nil when it has had none.
    public var lastUse: ContinuousClock.Instant?

    public init(inFlight: Int, lastUse: ContinuousClock.Instant?) {
        self.inFlight = inFlight
        self.lastUse = lastUse
    }
}
