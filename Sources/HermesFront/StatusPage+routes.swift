import Foundation
import HTTPTypes
import HermesCore
import Hummingbird
import NIOCore

/// The status page: `GET /` and `/ui` serve one HTML file from the binary, which polls
/// `/ui/state.json` every 2 s, reads `/ui/logs/PROFILE` on a click, and posts
/// `/ui/servers/PROFILE/{start,stop,unload}`.
///
/// Reading needs the front's key when the front has one (a server log is not for everyone who can reach
/// the port). The buttons exist only when the front has a key, and only with it: without one the POST
/// endpoints answer 403, whatever the caller sends.
extension RoutingFront {
    func addStatusPageRoutes(to router: Router<some RequestContext>) {
        router.get("/") { _, _ in Self.statusPageResponse() }
        router.get("/ui") { _, _ in Self.statusPageResponse() }
        router.get("/ui/state.json") { request, _ in await self.statusState(request) }
        router.get("/ui/logs/:profile") { request, context in
            await self.statusLogTail(request, profile: context.parameters.get("profile") ?? "")
        }
        router.post("/ui/servers/:profile/:action") { request, context in
            await self.statusAction(request, profile: context.parameters.get("profile") ?? "",
                                    action: context.parameters.get("action") ?? "")
        }
    }

    static func statusPageResponse() -> Response {
        var h = HTTPFields()
        h[.contentType] = "text/html; charset=utf-8"
        h[.cacheControl] = "no-store"
        // Inline script and style only; fetches go to this origin; no framing (the page has buttons).
        h[.contentSecurityPolicy] = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'"
        h[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return Response(status: .ok, headers: h, body: ResponseBody(byteBuffer: ByteBuffer(string: StatusPageHTML.text)))
    }

    private static func unauthorized() -> Response {
        openAIError(status: 401, message: "missing or wrong bearer key for the front", type: "authentication_error", code: "invalid_api_key")
    }

    private static func json(_ object: Any, status: Int = 200) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        var h = HTTPFields()
        h[.cacheControl] = "no-store"
        return jsonResponse(status: status, ByteBuffer(bytes: data), headers: h)
    }

    func statusState(_ request: Request) async -> Response {
        let state = current
        guard state.authorized(request.headers[.authorization]) else { return Self.unauthorized() }
        var out: [String: Any] = [:]
        if let source = options.statusPage,
            let daemon = try? JSONSerialization.jsonObject(with: await source.snapshot()) as? [String: Any]
        {
            out.merge(daemon) { a, _ in a }
        }
        let remotes: [[String: Any]] = state.config.profileNames.compactMap { name in
            guard let p = state.config.profiles[name], !p.isLocal else { return nil }
            return ["profile": name, "model": p.openai?.model ?? "", "cooling": cooldowns.isCooling(name)]
        }
        out["front"] = [
            "listen": host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)",
            "auth": state.frontKey != nil,
            "controls": state.frontKey != nil && options.statusPage != nil,
            "default": state.config.runtime.front.defaultProfile ?? "",
            "remotes": remotes,
        ] as [String: Any]
        let tally = metrics.tally.withLock { $0 }
        out["routing"] = [
            "recent": events.recentLines().compactMap(Self.decision),
            "bursts": tally.bursts,
            "fallbacks": tally.fallbacks,
        ] as [String: Any]
        if let spend = spendPanel(state.config) { out["spend"] = spend }
        out["generated_at"] = Self.iso8601(Date())
        return Self.json(out)
    }

    /// One routing decision for the page, from its event line: what, where, why, how long. The event
    /// holds no prompt text; its hash and length are left out here too.
    static func decision(_ line: [UInt8]) -> [String: Any]? {
        guard let e = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else { return nil }
        var d: [String: Any] = [:]
        for key in ["time", "id", "endpoint", "status", "profile", "reason", "stream", "attempts", "cut"] {
            if let v = e[key], !(v is NSNull) { d[key] = v }
        }
        if let latency = e["latency"] as? [String: Any] {
            d["total_ms"] = latency["total_ms"]
            d["front_ms"] = latency["front_ms"]
        }
        return d
    }

    func statusLogTail(_ request: Request, profile: String) async -> Response {
        let state = current
        guard state.authorized(request.headers[.authorization]) else { return Self.unauthorized() }
        guard state.localProfiles.contains(profile), let source = options.statusPage else {
            return openAIError(status: 404, message: "no local profile '\(profile)' with a log", code: "not_found")
        }
        let n = request.uri.queryParameters.get("lines").flatMap { Int($0) }.map { min(max($0, 1), 500) } ?? 100
        guard let lines = await source.logTail(profile: profile, lines: n) else {
            return openAIError(status: 404, message: "'\(profile)' has no log yet: it has not been started", code: "not_found")
        }
        return Self.json(["profile": profile, "lines": lines])
    }

    func statusAction(_ request: Request, profile: String, action: String) async -> Response {
        let state = current
        guard state.frontKey != nil else {
            return openAIError(status: 403, message: "the page's buttons need a front key: set front.api_key_env in runtime.yaml",
                               code: "controls_disabled")
        }
        guard state.authorized(request.headers[.authorization]) else { return Self.unauthorized() }
        guard let a = StatusPageAction(rawValue: action) else {
            return openAIError(status: 404, message: "no action '\(action)' (start, stop, unload)", code: "not_found")
        }
        guard state.localProfiles.contains(profile), let source = options.statusPage else {
            return openAIError(status: 404, message: "no local profile '\(profile)'", code: "not_found")
        }
        logger.notice("status page action", metadata: ["action": "\(a.rawValue)", "profile": "\(profile)"])
        let (status, message) = await source.perform(a, profile: profile)
        return Self.json(["ok": (200..<300).contains(status), "message": message], status: status)
    }
}
