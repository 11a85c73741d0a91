import CoreMetrics
import Foundation
import HermesCore

/// Settings for the front that do not live in `runtime.yaml`: how the process wires it, and test hooks.
public struct FrontOptions: Sendable {
    /// Where `api_key_env` names are looked up (the front's key and remotes' keys), read on every
    /// build and reload so a rotated key takes effect with `reload`.
    public var environment: [String: String]
    /// Overrides `front.listen` (tests bind port 0 on 127.0.0.1).
    public var host: String?
    public var port: Int?
    /// The metrics backend; nil uses the process-wide `MetricsSystem.factory` the daemon bootstraps.
    public var metricsFactory: (any MetricsFactory)?
    /// Renders Prometheus text for `GET /metrics`. HermesFront does not depend on swift-prometheus:
    /// the daemon, which does, passes `{ registry.emitToString() }` here. Nil answers 404.
    public var metricsText: (@Sendable () async -> String)?
    /// Seconds a local server may take to send its answer's head (a non-streamed answer's head comes
    /// after the whole generation, so this is generous). Remotes use their profile's `timeout`.
    public var localFirstByteTimeout: Double
    /// Seconds to open a connection (TCP and TLS) to a remote.
    public var connectTimeout: Double
    /// Seconds to open a connection to a local server. A refused connection fails at once on loopback;
    /// this bounds a server that accepts nothing. Not shorter: the front's own event loop may wait that
    /// long for the CPU on a box busy with prefill (0.3 s sent healthy servers' requests to burst on a
    /// loaded 2-core box).
    public var localConnectTimeout: Double
    /// Seconds the exact count (`/v1/chat/completions/input_tokens`, `/tokenize`) may take.
    public var tokenCountTimeout: Double
    /// Longest silence between two chunks of an answer before the stream counts as cut.
    public var idleReadTimeout: Double
    /// Open client connections the front holds; nil: from the descriptor limit (`FileLimit`).
    public var maxConnections: Int?
    /// Seconds a connection has to send a complete request head (after opening, or after the previous
    /// answer ended): slowloris and idle keep-alive connections are closed after it.
    public var headTimeout: Double
    /// Seconds a request's body has to arrive in full once its head is in (a stalled upload).
    public var bodyTimeout: Double
    /// Events file rotation; nil takes `logs.max_bytes` / `logs.keep` from `runtime.yaml`.
    public var eventsMaxBytes: Int?
    public var eventsKeep: Int?
    /// The daemon's side of the status page (`GET /`, `/ui`); nil shows the front's routing alone.
    public var statusPage: (any StatusPageSource)? = nil
    /// Warm prompt caches: slot choice and restores for `warm_cache` profiles; nil sends no `id_slot`.
    public var warm: (any WarmCacheProvider)? = nil
    /// Keep the spend ledger (`STATE/spend/`) and enforce budgets; off only to measure its cost.
    public var ledger = true

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, host: String? = nil, port: Int? = nil,
        metricsFactory: (any MetricsFactory)? = nil, metricsText: (@Sendable () async -> String)? = nil,
        localFirstByteTimeout: Double = 600, connectTimeout: Double = 5, localConnectTimeout: Double = 2, tokenCountTimeout: Double = 2,
        idleReadTimeout: Double = 600, eventsMaxBytes: Int? = nil, eventsKeep: Int? = nil,
        maxConnections: Int? = nil, headTimeout: Double = 30, bodyTimeout: Double = 120
    ) {
        self.maxConnections = maxConnections
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.environment = environment
        self.host = host
        self.port = port
        self.metricsFactory = metricsFactory
        self.metricsText = metricsText
        self.localFirstByteTimeout = localFirstByteTimeout
        self.connectTimeout = connectTimeout
        self.localConnectTimeout = localConnectTimeout
        self.tokenCountTimeout = tokenCountTimeout
        self.idleReadTimeout = idleReadTimeout
        self.eventsMaxBytes = eventsMaxBytes
        self.eventsKeep = eventsKeep
    }
}

/// Why the front will not start or reload. Carries no key.
public struct FrontError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case keyMissing = "key_missing"
        case openNonLoopback = "open_non_loopback"
    }

    public var code: Code
    public var message: String

    public var description: String { message }
}

extension FrontError: UserFacingError {}
extension FrontError.Code: ErrorCode {}
