import Foundation
import Synchronization
import HermesGPU
import HermesSupervisor
import Logging
import Metrics
import ServiceLifecycle

/// Samples the GPU in the background (rocm_smi, else sysfs), publishes the gauges, and keeps the last
/// report so `status` can show each server's GPU memory without waiting on the library.
final class GPUService: Service, Sendable {
    let monitor: GPUMonitor
    let registry: SupervisorRegistry
    let interval: Duration
    let logger: Logger
    private let latest = Mutex<(report: GPUReport, at: ContinuousClock.Instant)?>(nil)
    /// The model pool over the last hour, for the status page's chart.
    let history = GPUHistory()

    init(monitor: GPUMonitor, registry: SupervisorRegistry, interval: Duration = .seconds(10), logger: Logger) {
        self.monitor = monitor
        self.registry = registry
        self.interval = interval
        self.logger = logger
    }

    /// The last report, or nil before the first sample.
    var report: GPUReport? { latest.withLock { $0?.report } }

    /// Bytes of GPU memory per profile, sampled again first when the last sample is older than `maxAge`
    /// (a probe costs well under a millisecond; see docs/benchmarks.md).
    func bytesByProfile(maxAge: Duration = .seconds(2)) async -> [String: Int] {
        let stale = latest.withLock { $0.map { ContinuousClock.now - $0.at > maxAge } ?? true }
        if stale, !monitor.isStuck { await sample() }
        var out: [String: Int] = [:]
        for p in report?.processes ?? [] {
            if let name = p.profile { out[name, default: 0] += Int(clamping: p.bytes) }
        }
        return out
    }

    func sample() async {
        do {
            let r = try await monitor.report(profiles: await registry.pidsByProfile())
            r.publishMetrics()
            latest.withLock { $0 = (r, ContinuousClock.now) }
            history.append(r)
        } catch {
            logger.debug("gpu sample failed", metadata: ["error": "\(error)"])
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.sample()
                try? await Task.sleep(for: self.interval)
            }
        }
        await monitor.close()
    }
}
