/// When idle on-demand servers are unloaded. Pure: times are seconds from any fixed origin, passed in.
public enum IdleUnload {
    /// One running server as the idle timer sees it.
    public struct Server: Sendable, Equatable {
        public var name: String
        /// `idle_unload` in seconds; 0 = never.
        public var idleUnload: Double
        public var inFlight: Int
        /// Its last request, or its load when it has had none.
        public var lastUse: Double

        public init(name: String, idleUnload: Double, inFlight: Int, lastUse: Double) {
            self.name = name
            self.idleUnload = idleUnload
            self.inFlight = inFlight
            self.lastUse = lastUse
        }

        /// When it will be unloaded if nothing uses it; nil when never (no idle time, or busy now).
        public var unloadsAt: Double? {
            guard idleUnload > 0, idleUnload.isFinite, inFlight <= 0 else { return nil }
            return lastUse + idleUnload
        }
    }

    /// The servers past their idle time at `now`, by name.
    public static func due(_ servers: [Server], now: Double) -> [String] {
        servers.filter { s in s.unloadsAt.map { now >= $0 } ?? false }.map(\.name).sorted()
    }

    /// The earliest moment a server not yet due will be; nil when none will (the timer may sleep long).
    public static func nextDeadline(_ servers: [Server], now: Double) -> Double? {
        servers.compactMap(\.unloadsAt).filter { $0 > now }.min()
    }
}
