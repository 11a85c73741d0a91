import AsyncHTTPClient
import CoreMetrics
import Foundation
import HTTPTypes
import HermesCore
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// The routing front: chooses a profile, bursts and falls back, forwards, and leaves a receipt.
///
/// One instance per daemon. `buildFront` makes one and the Hummingbird application around it; the
/// daemon keeps the instance to `reload` config and to read `config`.
public final class RoutingFront: Sendable {
    let loaded: Mutex<LoadedConfig>
    let runtime: any RuntimeStateProvider
    /// `https://` remotes (TLS, the internet).
    let client: HTTPClient
    /// Every `http://` upstream: all local servers (requests, exact counts, probes) and plain-HTTP
    /// remotes. See `UpstreamClient`.
    let upstream: UpstreamClient
    let events: EventLog
    let metrics: FrontMetrics
    let inFlight = InFlight()
    let cooldowns = Cooldowns()
    let options: FrontOptions
    let logger: Logger
    /// The spend ledger and budget warnings already given; nil when `FrontOptions.ledger` is off.
    let spend: FrontSpend?
    /// Where the front listens (fixed at build; `reload` cannot move a bound socket).
    public let host: String
    public let port: Int

    /// Checks the config's front settings (key present, loopback without a key) and opens the client.
    public init(config: HermesConfig, runtime: any RuntimeStateProvider, eventsFile: URL, logger: Logger,
                options: FrontOptions = FrontOptions()) throws
    {
        let host = options.host ?? config.runtime.front.host
        self.host = host
        self.port = options.port ?? config.runtime.front.port
        self.loaded = Mutex(try LoadedConfig(config: config, host: host, environment: options.environment))
        self.runtime = runtime
        self.options = options
        self.logger = logger
        self.events = EventLog(file: eventsFile, maxBytes: options.eventsMaxBytes ?? config.runtime.logs.maxBytes,
                               keep: options.eventsKeep ?? config.runtime.logs.keep)
        self.metrics = FrontMetrics(factory: options.metricsFactory ?? MetricsSystem.factory)
        self.spend = options.ledger ? FrontSpend(stateDirectory: config.paths.stateDirectory, events: events, logger: logger) : nil
        var c = HTTPClient.Configuration()
        c.timeout = .init(connect: .safeSeconds(options.connectTimeout),
                          read: .safeSeconds(options.idleReadTimeout))
        c.redirectConfiguration = .disallow
        c.decompression = .disabled
        // One pool per upstream host:port; agents stream many turns at once.
        c.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 128)
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: c)
        self.upstream = UpstreamClient(idleReadTimeout: .safeSeconds(options.idleReadTimeout))
    }

    /// The config in force.
    public var config: HermesConfig { loaded.withLock { $0.config } }

    /// The front's own requests in flight and last use per profile (the on-demand manager reads them:
    /// a server with a request in flight is never evicted or unloaded).
    public func usage() -> [String: ProfileUsage] { inFlight.usage() }

    /// Swaps in a new config for the next requests; requests under way finish on the old one.
    /// Throws (and keeps the old config) when the new one names a front key that is not set.
    /// A changed `front.listen` needs a restart: the socket stays where it was bound.
    public func reload(_ config: HermesConfig) throws {
        let next = try LoadedConfig(config: config, host: host, environment: options.environment)
        loaded.withLock { $0 = next }
        let newHost = config.runtime.front.host, newPort = config.runtime.front.port
        if options.host == nil, options.port == nil, newHost != host || newPort != port {
            logger.warning("front listen address changed; restart the daemon to move it",
                           metadata: ["listening": "\(host):\(port)", "configured": "\(newHost):\(newPort)"])
        }
        logger.info("front config reloaded", metadata: ["routes": "\(config.runtime.front.routes.count)",
                                                        "profiles": "\(config.profiles.count)"])
    }

    /// Closes upstream connections. Called by the application's shutdown service; safe to call twice.
    public func shutdown() async {
        await upstream.shutdown()
        do { try await client.shutdown() } catch {
            logger.debug("front http client already shut down", metadata: ["error": "\(error)"])
        }
    }

    var current: LoadedConfig { loaded.withLock { $0 } }
}

// MARK: - receipts and errors

/// The OpenAI-shaped error body: `{"error":{"message","type","param","code"}}`.
func openAIErrorBody(message: String, type: String, code: String, param: String? = nil) -> ByteBuffer {
    var e = JSONLine(capacity: 96 + message.utf8.count)
    e.add("message", message)
    e.add("type", type)
    e.add("param", orNull: param)
    e.add("code", code)
    var o = JSONLine(capacity: 128 + message.utf8.count)
    o.add("error", object: e)
    return ByteBuffer(bytes: o.finished())
}

func jsonResponse(status: Int, _ body: ByteBuffer, headers: HTTPFields = [:]) -> Response {
    var h = headers
    h[.contentType] = "application/json"
    return Response(status: .init(code: status), headers: h, body: ResponseBody(byteBuffer: body))
}

/// An error the front makes itself, in the shape the request's client reads (`ErrorShape.current`).
func openAIError(status: Int, message: String, type: String? = nil, code: String, param: String? = nil, headers: HTTPFields = [:]) -> Response {
    if ErrorShape.current == .anthropic {
        return jsonResponse(status: status, anthropicErrorBody(status: status, message: message, code: code), headers: headers)
    }
    let t = type ?? (status >= 500 ? "server_error" : "invalid_request_error")
    return jsonResponse(status: status, openAIErrorBody(message: message, type: t, code: code, param: param), headers: headers)
}

/// A refused request as its OpenAI-shaped answer.
func openAIError(_ e: RequestError, headers: HTTPFields = [:]) -> Response {
    openAIError(status: e.status, message: e.message, type: e.type, code: e.code, param: e.param, headers: headers)
}

extension HTTPField.Name {
    static let hermesRoute = HTTPField.Name("X-Hermes-Route")!
    static let hermesReason = HTTPField.Name("X-Hermes-Reason")!
    static let hermesAttempts = HTTPField.Name("X-Hermes-Attempts")!
    static let hermesOverhead = HTTPField.Name("X-Hermes-Overhead-Ms")!
    static let requestID = HTTPField.Name("X-Request-Id")!
}

/// Headers an upstream sends that describe its own connection, not the answer; and its CORS headers,
/// which are the front's to give (`AccessMiddleware`): an upstream's would let any page read answers.
let hopByHop: Set<HTTPField.Name> = Set([
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade", "content-length", "date", "server",
    "access-control-allow-origin", "access-control-allow-credentials", "access-control-allow-methods",
    "access-control-allow-headers", "access-control-expose-headers", "access-control-max-age",
].compactMap { HTTPField.Name($0) })

/// The upstream answer's own headers added to `fields`, in one pass: each name parsed once (it compares
/// case-insensitively), none lower-cased into a new string.
func appendAnswerHeaders(_ upstream: HTTPHeaders, to fields: inout HTTPFields) {
    for h in upstream {
        guard let name = HTTPField.Name(h.name), !hopByHop.contains(name) else { continue }
        fields.append(HTTPField(name: name, value: h.value))
    }
}

/// What a failed exchange with an upstream was, from the error's type: our own client's `UpstreamError`,
/// AsyncHTTPClient's, NIO's channel and socket errors. Only an error of none of these types is judged by
/// its text (a last resort, logged as `error` when that says nothing either).
func failureKind(_ error: any Error) -> AttemptEnd.Kind {
    switch error {
    case let e as UpstreamError:
        switch e {
        case .refused: return .refused
        case .timeout: return .timeout
        case .reset: return .reset
        case .error: return .error
        }
    case let e as HTTPClientError:
        switch e {
        case .deadlineExceeded, .connectTimeout, .readTimeout, .writeTimeout: return .timeout
        case .remoteConnectionClosed: return .reset
        default: break
        }
    case let e as IOError:
        switch e.errnoCode {
        case ECONNREFUSED: return .refused
        case ECONNRESET, EPIPE: return .reset
        case ETIMEDOUT: return .timeout
        default: return .error
        }
    case let e as ChannelError:
        switch e {
        case .connectTimeout: return .timeout
        case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed: return .reset
        default: return .error
        }
    default: break
    }
    let text = String(describing: error).lowercased()
    if text.contains("refused") { return .refused }
    if text.contains("reset") || text.contains("closed") || text.contains("eof") { return .reset }
    if text.contains("timeout") || text.contains("timed out") { return .timeout }
    return .error
}

/// `failureKind`'s receipt word (`refused`, `timeout`, `reset`, `error`).
func classify(_ error: any Error) -> String {
    failureKind(error).outcome
}

