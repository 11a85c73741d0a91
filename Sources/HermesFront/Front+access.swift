import HTTPTypes
import HermesCore
import Hummingbird

/// Applies `FrontAccess` to every request before it is routed: a disallowed `Host` or `Origin` gets a
/// 403 in the client's error shape (with its event) and reaches no handler and no upstream; a CORS
/// preflight is answered for allowed origins only; an allowed cross-origin caller is named in
/// `Access-Control-Allow-Origin` (never an arbitrary one: upstreams' CORS headers are dropped).
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let front: RoutingFront

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let settings = front.current.config.runtime.front
        let access = FrontAccess(settings: settings, listenHost: front.host)
        let origin = request.headers[.origin]
        switch access.check(host: request.head.authority, origin: origin) {
        case .deny(let denial):
            let shape = ErrorShape.forPath(request.uri.path)
            front.logger.info("request refused by the host/origin check", metadata: ["code": "\(denial.code)"])
            return front.answered(request, ErrorShape.$current.withValue(shape) {
                openAIError(status: 403, message: denial.message, type: "permission_error", code: denial.code)
            })
        case .allow(let corsOrigin):
            if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
                return Self.preflight(request, origin: corsOrigin ?? origin)
            }
            var response = try await next(request, context)
            if let corsOrigin {
                response.headers[.accessControlAllowOrigin] = corsOrigin
                response.headers[.accessControlExposeHeaders] = Self.exposed
                response.headers.append(HTTPField(name: .vary, value: "Origin"))
            }
            return response
        }
    }

    /// The receipt headers a page may read.
    static var exposed: String { "X-Request-Id, X-Hermes-Route, X-Hermes-Reason, X-Hermes-Attempts, X-Hermes-Overhead-Ms, Retry-After" }

    /// 204 for an allowed origin's preflight. The requested headers are echoed: the origin is trusted.
    static func preflight(_ request: Request, origin: String?) -> Response {
        var h = HTTPFields()
        if let origin { h[.accessControlAllowOrigin] = origin }
        h[.accessControlAllowMethods] = "GET, POST, OPTIONS"
        if let asked = request.headers[.accessControlRequestHeaders] { h[.accessControlAllowHeaders] = asked }
        h[.accessControlMaxAge] = "600"
        h[.vary] = "Origin"
        return Response(status: .noContent, headers: h)
    }
}
