import NIOCore

/// Seconds from config or from an upstream (`timeout: inf`, `queue_wait: 1e300`, a Retry-After) turned
/// into durations without a trapping conversion: NaN and negatives are 0, infinity and absurd values
/// are capped at 10 years.
let maxSeconds = 315_360_000.0

extension Duration {
    static func safeSeconds(_ s: Double) -> Duration {
        guard s.isFinite, s > 0 else { return s == .infinity ? .seconds(Int64(maxSeconds)) : .zero }
        return .milliseconds(Int64(min(s, maxSeconds) * 1000))
    }

    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension TimeAmount {
    static func safeSeconds(_ s: Double) -> TimeAmount {
        guard s.isFinite, s > 0 else { return s == .infinity ? .seconds(Int64(maxSeconds)) : .zero }
        return .milliseconds(Int64(min(s, maxSeconds) * 1000))
    }
}
