import AsyncHTTPClient
import Foundation
import HTTPTypes
import HermesCore
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Builds the routing front and the Hummingbird application that serves it. The daemon (`serve`) and
/// the tests both call this, so tests run the real wiring.
///
/// - Parameters:
///   - config: the loaded config; `runtime.front` says where to listen and how to route.
///   - runtime: the supervisor's live view of local profiles (the front never imports the supervisor).
///   - eventsFile: the JSONL events file (rotated by `logs.max_bytes` / `logs.keep`).
///   - logger: the front's logger; messages are constant, variables go in metadata, never a key or prompt.
///   - options: environment, metrics hooks, timeouts, listen overrides.
/// - Returns: the application to run (as a `Service`, or with `runService()`), and the front itself
///   for `reload(_:)` and `config`.
/// - Throws: `FrontError` when `front.api_key_env` is named but unset, or when the front would listen
///   on a non-loopback address without a key.
public func buildFront(
    config: HermesConfig, runtime: any RuntimeStateProvider, eventsFile: URL, logger: Logger,
    options: FrontOptions = FrontOptions()
) throws -> (application: some ApplicationProtocol, front: RoutingFront) {
    let front = try RoutingFront(config: config, runtime: runtime, eventsFile: eventsFile, logger: logger, options: options)
    let router = Router()
    router.add(middleware: OpenAIErrorMiddleware(front: front))
    router.add(middleware: AccessMiddleware(front: front))
    front.addRoutes(to: router)
    let limit = FileLimit.raiseToHard()
    let gate = ConnectionGate(cap: options.maxConnections ?? FileLimit.connectionCap(descriptors: limit),
                              headTimeout: .safeSeconds(options.headTimeout), bodyTimeout: .safeSeconds(options.bodyTimeout))
    logger.info("front connection limits", metadata: ["max_connections": "\(gate.cap)", "nofile": "\(limit)",
                                                      "head_timeout_s": "\(options.headTimeout)"])
    let app = Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(gate: gate)])),
        configuration: .init(address: .hostname(front.host, port: front.port), serverName: nil),
        services: [FrontClientService(front: front)],
        logger: logger
    )
    return (app, front)
}

/// Closes the front's upstream client after the server has drained (services shut down in reverse order).
struct FrontClientService: Service {
    let front: RoutingFront

    func run() async throws {
        try? await gracefulShutdown()
        await front.shutdown()
    }
}

/// Every answer carries `X-Request-Id` and `X-Hermes-Route`; anything thrown past a handler (unknown
/// path, wrong method) becomes an OpenAI-shaped error with its own event.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let front: RoutingFront

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let e as any HTTPResponseError {
            let code = Int(e.status.code)
            let message = code == 404 ? "no such endpoint: \(request.method) \(request.uri.path)" : (e.status.reasonPhrase)
            let shape = ErrorShape.forPath(request.uri.path)
            response = front.answered(request, ErrorShape.$current.withValue(shape) {
                openAIError(status: code, message: message, code: code == 404 ? "not_found" : "http_\(code)")
            })
        } catch {
            let shape = ErrorShape.forPath(request.uri.path)
            response = front.answered(request, ErrorShape.$current.withValue(shape) {
                openAIError(status: 500, message: "internal error", code: "internal_error")
            })
        }
        if response.headers[.requestID] == nil { response.headers[.requestID] = RoutingFront.requestID(request) }
        if response.headers[.hermesRoute] == nil { response.headers[.hermesRoute] = "none" }
        return response
    }
}

extension RoutingFront {
    /// An answer the front gave outside the routed endpoints (unknown path, wrong method), with its event.
    func answered(_ request: Request, _ response: Response) -> Response {
        let record = RequestRecord(id: Self.requestID(request))
        record.update { $0.endpoint = String(request.uri.path.prefix(64)) }
        return finishEarly(record, response)
    }

    /// Paths the Hermes agent (and other OpenAI clients) probe on a local base URL; they go to the
    /// default profile's server when it is local and ready, else 404.
    static let probePaths = ["/props", "/v1/props", "/version", "/api/tags", "/api/v1/models"]

    func addRoutes(to router: Router<some RequestContext>) {
        router.post("/v1/chat/completions") { request, _ in await self.handleRouted(.chatCompletions, request: request) }
        router.post("/v1/completions") { request, _ in await self.handleRouted(.completions, request: request) }
        router.post("/v1/embeddings") { request, _ in await self.handleRouted(.embeddings, request: request) }
        // Clients configured with a base URL without /v1 still work.
        router.post("/chat/completions") { request, _ in await self.handleRouted(.chatCompletions, request: request) }
        addAgentAPIRoutes(to: router)
        router.get("/v1/models") { request, _ in await self.models(request) }
        router.get("/health") { _, _ in await self.health() }
        router.get("/metrics") { request, _ in await self.metricsResponse(request) }
        addStatusPageRoutes(to: router)
        for path in Self.probePaths {
            router.get(RouterPath(path)) { request, _ in await self.probe(request) }
        }
    }

    func models(_ request: Request) async -> Response {
        let state = current
        guard state.authorized(request.headers[.authorization]) else {
            return openAIError(status: 401, message: "missing or wrong bearer key for the front", type: "authentication_error", code: "invalid_api_key")
        }
        var data: [[String: Any]] = []
        for name in state.config.profileNames {
            guard let p = state.config.profiles[name] else { continue }
            var entry: [String: Any] = ["id": name, "object": "model", "created": 0, "owned_by": "hermes-runtime",
                                        "kind": p.kindName]
            if let d = p.description { entry["description"] = d }
            if let settings = p.llamaServer {
                // Which local models are in memory now, and how each gets there.
                entry["loaded"] = await runtime.status(ofProfile: name)?.isReady ?? false
                entry["load"] = settings.effectiveLoad.rawValue
            }
            data.append(entry)
        }
        for (alias, target) in state.config.runtime.front.aliases.sorted(by: { $0.key < $1.key }) where state.config.profiles[alias] == nil {
            data.append(["id": alias, "object": "model", "created": 0, "owned_by": "hermes-runtime", "alias_of": target])
        }
        let body = (try? JSONSerialization.data(withJSONObject: ["object": "list", "data": data], options: [.sortedKeys])) ?? Data()
        return jsonResponse(status: 200, ByteBuffer(bytes: body))
    }

    func health() async -> Response {
        let state = current
        var profiles: [String: String] = [:]
        for name in state.localProfiles {
            profiles[name] = await runtime.status(ofProfile: name)?.phase.rawValue ?? "stopped"
        }
        let body = (try? JSONSerialization.data(withJSONObject: ["status": "ok", "profiles": profiles], options: [.sortedKeys])) ?? Data()
        return jsonResponse(status: 200, ByteBuffer(bytes: body))
    }

    func metricsResponse(_ request: Request) async -> Response {
        guard current.authorized(request.headers[.authorization]) else {
            return openAIError(status: 401, message: "missing or wrong bearer key for the front", type: "authentication_error", code: "invalid_api_key")
        }
        metrics.cooldowns(active: cooldowns.active())
        guard let render = options.metricsText else {
            return openAIError(status: 404, message: "metrics are not configured in this process", code: "not_found")
        }
        var h = HTTPFields()
        h[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: h, body: ResponseBody(byteBuffer: ByteBuffer(string: await render())))
    }

    /// Forwards a probe to the default local profile when it is ready; 404 otherwise. Never retried.
    func probe(_ request: Request) async -> Response {
        let state = current
        guard state.authorized(request.headers[.authorization]) else {
            return openAIError(status: 401, message: "missing or wrong bearer key for the front", type: "authentication_error", code: "invalid_api_key")
        }
        let path = request.uri.path
        guard let name = state.config.runtime.front.defaultProfile.flatMap(state.policy.resolve),
            state.config.profiles[name]?.isLocal == true,
            let status = await runtime.status(ofProfile: name), BurstCheck.isServing(status), let base = status.baseURL
        else {
            return openAIError(status: 404, message: "\(path) is not served: the default profile is not a running local server", code: "not_found")
        }
        do {
            let resp = try await send(url: base + path + (request.uri.query.map { "?" + $0 } ?? ""), method: .GET, headers: [:],
                                      body: nil, isLocal: true, timeout: 10)
            let body = try await resp.body.collect(upTo: 16 << 20)
            var h = HTTPFields()
            appendAnswerHeaders(resp.headers, to: &h)
            h[.hermesRoute] = name
            return Response(status: .init(code: resp.status), headers: h, body: ResponseBody(byteBuffer: body))
        } catch {
            return openAIError(status: 404, message: "\(path) could not be read from \(name)", code: "not_found")
        }
    }
}
