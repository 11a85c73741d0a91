import Foundation
import HermesCore
import HermesFront
import HermesSupervisor
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization

/// The process-wide metrics backend: one Prometheus registry, bootstrapped once, rendered by the
/// front's `GET /metrics` (request counters, latencies, GPU gauges, supervisor counters alike).
enum DaemonMetrics {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}

/// The routing front as the daemon runs it, and what `status` says about it.
final class FrontHandle: Sendable {
    let front: RoutingFront?
    /// `http://HOST:PORT/v1`, or nil when the front could not be built.
    let url: String?
    private let problem: Mutex<String?>

    init(front: RoutingFront?, url: String?, problem: String?) {
        self.front = front
        self.url = url
        self.problem = Mutex(problem)
    }

    /// Why the front is not serving (refused to build, or could not listen), nil when it is.
    var error: String? { problem.withLock { $0 } }
    func fail(_ message: String) { problem.withLock { $0 = message } }
}

/// Builds the routing front's services for the daemon. A front that cannot start (its key unset, its
/// port taken) does not take the supervisors down with it: the daemon keeps running, logs why, and
/// `status` shows it.
enum FrontWiring {
    static func make(config: HermesConfig, runtime: any RuntimeStateProvider, registry: SupervisorRegistry, manager: OnDemandManager,
                     gpu: GPUService,
                     paths: RuntimePaths, warm: WarmCaches? = nil, logger: Logger)
        -> (handle: FrontHandle, services: [any Service])
    {
        let settings = config.runtime.front
        let url = "http://\(settings.host.contains(":") ? "[\(settings.host)]" : settings.host):\(settings.port)/v1"
        let metrics = DaemonMetrics.registry
        let servers = ServerMetrics(registry: metrics, supervisors: registry)
        var options = FrontOptions(metricsFactory: MetricsSystem.factory, metricsText: {
            await servers.refresh()
            return metrics.emitToString()
        })
        options.statusPage = StatusPageFeed(registry: registry, manager: manager, gpu: gpu, paths: paths,
                                            drainTimeout: Double(config.runtime.daemon.drainTimeout))
        options.warm = warm
        var frontLogger = logger
        frontLogger[metadataKey: "component"] = "front"
        do {
            let (app, front) = try buildFront(config: config, runtime: runtime, eventsFile: paths.eventsFile,
                                              logger: frontLogger, options: options)
            let handle = FrontHandle(front: front, url: url, problem: nil)
            return (handle, [ListeningFront(app: app, handle: handle, logger: frontLogger)])
        } catch {
            logger.error("the routing front will not start", metadata: ["error": "\(error)"])
            return (FrontHandle(front: nil, url: nil, problem: "\(error)"), [])
        }
    }
}

/// Runs the front's application; a failure to listen is logged and reported, not fatal to the daemon.
struct ListeningFront<App: Service>: Service {
    let app: App
    let handle: FrontHandle
    let logger: Logger

    func run() async throws {
        do {
            try await app.run()
        } catch {
            logger.error("the routing front stopped", metadata: ["error": "\(error)"])
            handle.fail("\(error)")
            try? await gracefulShutdown()
        }
    }
}
