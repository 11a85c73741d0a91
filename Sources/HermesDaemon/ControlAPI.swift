import Foundation
import HermesCore
import HermesSupervisor
import Hummingbird
import Logging
import NIOCore

/// The daemon's control API, HTTP on a UNIX socket in the state directory (only this user can reach it).
/// The CLI verbs `start`, `stop`, `status` are thin clients of it.
enum ControlAPI {
    static func router(registry: SupervisorRegistry, daemon: DaemonInfo) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/v1/status") { _, _ in
            var servers = await registry.statuses()
            let gpuBytes = await daemon.gpu.bytesByProfile()
            for i in servers.indices { servers[i].gpuBytes = gpuBytes[servers[i].profile] }
            var status = DaemonStatus(pid: getpid(), startedAt: daemon.startedAt, configRoot: daemon.configRoot,
                                      front: daemon.front.error == nil ? daemon.front.url : nil, servers: servers)
            status.frontError = daemon.front.error
            status.models = await daemon.onDemand.usageReport()
            return json(status)
        }
        router.get("/v1/profiles/:name") { _, context in
            let name = try context.parameters.require("name")
            guard let s = await registry.status(of: name) else {
                return json(ControlError(message: "no local profile '\(name)'"), status: .notFound)
            }
            return json(s)
        }
        router.post("/v1/profiles/:name/start") { request, context in
            let name = try context.parameters.require("name")
            let force = request.uri.queryParameters.get("force") == "1"
            do {
                return json(try await registry.start(name, force: force))
            } catch let e as SupervisorRegistry.StartError {
                if case .preflight(let f) = e {
                    return json(ControlError(message: "\(f.profile): \(f.reason)", hint: f.hint, lastLogLines: f.lastLogLines), status: .conflict)
                }
                return json(ControlError(message: e.description), status: .notFound)
            }
        }
        router.post("/v1/profiles/:name/stop") { _, context in
            let name = try context.parameters.require("name")
            guard let s = await registry.stop(name) else {
                return json(ControlError(message: "profile '\(name)' is not running"), status: .notFound)
            }
            return json(s)
        }
        router.post("/v1/profiles/:name/unload") { request, context in
            let name = try context.parameters.require("name")
            let force = request.uri.queryParameters.get("force") == "1"
            let (ok, message) = await daemon.onDemand.unloadByHand(name, force: force)
            guard ok else { return json(ControlError(message: message), status: .conflict) }
            return json(["unloaded": name])
        }
        router.post("/v1/stop-all") { _, _ in
            await registry.stopAll()
            return json(await registry.statuses())
        }
        router.post("/v1/reload") { _, _ in
            let result = await daemon.reloader.reload()
            return json(result, status: result.reloaded ? .ok : .unprocessableContent)
        }
        router.post("/v1/shutdown") { _, _ in
            daemon.requestShutdown()
            return json(["shutting_down": true])
        }
        return router
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? ControlCodec.encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Facts about the running daemon the control API reports, its parts, and its shutdown switch.
final class DaemonInfo: Sendable {
    let startedAt = Date()
    let configRoot: String
    let front: FrontHandle
    let gpu: GPUService
    let reloader: Reloader
    let onDemand: OnDemandManager
    let requestShutdown: @Sendable () -> Void

    init(configRoot: String, front: FrontHandle, gpu: GPUService, reloader: Reloader, onDemand: OnDemandManager,
         requestShutdown: @escaping @Sendable () -> Void) {
        self.onDemand = onDemand
        self.configRoot = configRoot
        self.front = front
        self.gpu = gpu
        self.reloader = reloader
        self.requestShutdown = requestShutdown
    }
}
