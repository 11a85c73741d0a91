import CoreMetrics
import Foundation
import Synchronization

/// The front's metrics through swift-metrics (the daemon bootstraps Prometheus behind it).
///
/// Names: `hermes_front_requests_total{profile,reason,status}`,
/// `hermes_front_request_duration_seconds{profile}`, `hermes_front_first_byte_seconds{profile}`,
/// `hermes_front_overhead_seconds`, `hermes_front_in_flight{profile}`, `hermes_front_bursts_total{reason}`,
/// `hermes_front_fallbacks_total{reason}`, `hermes_front_cooldowns_active`.
final class FrontMetrics: Sendable {
    let factory: any MetricsFactory
    /// Handles by label + dimensions: building a metric goes through the factory's registry lock;
    /// a request then only touches the cached handle.
    private let counters = Mutex<[String: Counter]>([:])
    private let timers = Mutex<[String: CoreMetrics.Timer]>([:])
    private let gauges = Mutex<[String: Gauge]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    private static func key(_ label: String, _ dims: [(String, String)]) -> String {
        dims.reduce(label) { $0 + "\u{1}" + $1.0 + "=" + $1.1 }
    }

    /// The handle for `label` + `dims` from `cache`, made by `make` the first time.
    private static func cached<M>(_ cache: borrowing Mutex<[String: M]>, _ label: String, _ dims: [(String, String)], make: () -> M) -> M {
        let k = key(label, dims)
        return cache.withLock { c in
            if let m = c[k] { return m }
            let m = make()
            c[k] = m
            return m
        }
    }

    func counter(_ label: String, _ dims: [(String, String)]) -> Counter {
        Self.cached(counters, label, dims) { Counter(label: label, dimensions: dims, factory: factory) }
    }

    func timer(_ label: String, _ dims: [(String, String)]) -> CoreMetrics.Timer {
        Self.cached(timers, label, dims) {
            CoreMetrics.Timer(label: label, dimensions: dims, preferredDisplayUnit: .seconds, factory: factory)
        }
    }

    func gauge(_ label: String, _ dims: [(String, String)]) -> Gauge {
        Self.cached(gauges, label, dims) { Gauge(label: label, dimensions: dims, factory: factory) }
    }

    func request(profile: String, reason: String, status: Int, total: Duration, firstByte: Duration?, overhead: Duration) {
        counter("hermes_front_requests_total", [("profile", profile), ("reason", reason), ("status", String(status))]).increment()
        timer("hermes_front_request_duration_seconds", [("profile", profile)]).recordNanoseconds(total.nanoseconds)
        if let firstByte {
            timer("hermes_front_first_byte_seconds", [("profile", profile)]).recordNanoseconds(firstByte.nanoseconds)
        }
        timer("hermes_front_overhead_seconds", []).recordNanoseconds(overhead.nanoseconds)
    }

    func inFlight(profile: String, _ value: Int) {
        gauge("hermes_front_in_flight", [("profile", profile)]).record(value)
    }

    func burst(reason: String) {
        counter("hermes_front_bursts_total", [("reason", reason)]).increment()
        tally.withLock { $0.bursts[reason, default: 0] += 1 }
    }

    func fallback(reason: String) {
        counter("hermes_front_fallbacks_total", [("reason", reason)]).increment()
        tally.withLock { $0.fallbacks[reason, default: 0] += 1 }
    }

    /// Bursts and fallbacks by reason since start, for the status page (swift-metrics cannot be read back).
    let tally = Mutex<(bursts: [String: Int], fallbacks: [String: Int])>(([:], [:]))

    func cooldowns(active: Int) {
        gauge("hermes_front_cooldowns_active", []).record(active)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, a) = components
        return s * 1_000_000_000 + a / 1_000_000_000
    }

    var milliseconds: Double { Double(nanoseconds) / 1e6 }
}
