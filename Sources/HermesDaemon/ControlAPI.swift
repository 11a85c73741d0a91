import Foundation
import HermesCore
import HermesSupervisor
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The daemon's control API, HTTP on a UNIX socket in the state directory. The CLI verbs `start`,
/// `stop`, `status` are thin clients of it.
///
/// Only this user (and root) may steer the daemon: the socket is created 0600 (the daemon's umask is
/// 077, whatever the caller's), and every connection's peer credentials (SO_PEERCRED) are checked, so
/// a socket made reachable by a loose directory mode still answers 403 to anyone else.
enum ControlAPI {
    static func application(socket: String, registry: SupervisorRegistry, daemon: DaemonInfo, logger: Logger) -> some Service {
        Application(
            router: router(registry: registry, daemon: daemon),
            configuration: .init(address: .unixDomainSocket(path: socket), serverName: "hermes-runtime-control"),
            logger: logger)
    }

    /// `checkingPeers: false` only for tests that drive the routes in memory, where there is no socket
    /// (the check itself refuses a connection whose peer it cannot read: `ControlAPIMemoryTests`).
    static func router(registry: SupervisorRegistry, daemon: DaemonInfo, checkingPeers: Bool = true) -> Router<ControlContext> {
        let router = Router(context: ControlContext.self)
        if checkingPeers { router.add(middleware: PeerCheck()) }
        router.get("/v1/status") { _, _ in
            var servers = await registry.statuses()
            let gpuBytes = await daemon.gpu.bytesByProfile()
            for i in servers.indices { servers[i].gpuBytes = gpuBytes[servers[i].profile] }
            await ServerMetrics.fillDraftAcceptance(&servers)
            var status = DaemonStatus(pid: getpid(), startedAt: daemon.startedAt, configRoot: daemon.configRoot,
                                      front: daemon.front.error == nil ? daemon.front.url : nil, servers: servers)
            status.frontError = daemon.front.error
            status.stopping = daemon.isStopping
            status.drainTimeout = daemon.drainTimeout
            status.guardPid = DaemonInfo.guardPid
            status.models = await daemon.onDemand.usageReport()
            return json(status)
        }
        router.get("/v1/profiles/:name") { _, context in
            let name = try context.parameters.require("name")
            guard let s = await registry.status(of: name) else {
                return json(ControlError("unknown_profile", message: "no local profile '\(name)'"), status: .notFound)
            }
            return json(s)
        }
        router.post("/v1/profiles/:name/start") { request, context in
            let name = try context.parameters.require("name")
            let force = request.uri.queryParameters.get("force") == "1"
            if daemon.isStopping {
                return json(ControlError("stopping", message: "the daemon is stopping", hint: "run `hermes-runtime start \(name)` again once it has stopped"),
                            status: .serviceUnavailable)
            }
            do {
                return json(try await registry.start(name, force: force))
            } catch let e as SupervisorRegistry.StartError {
                if case .preflight(let f) = e { return json(ControlError(f), status: .conflict) }
                return json(ControlError(e), status: .notFound)
            } catch {
                // A spawn or keeper failure: still the one shape, never a bare 500.
                return json(ControlError(error), status: .internalServerError)
            }
        }
        router.post("/v1/profiles/:name/stop") { _, context in
            let name = try context.parameters.require("name")
            guard let s = await daemon.onDemand.stop(name, drain: Double(daemon.drainTimeout)) else {
                return json(ControlError("not_running", message: "profile '\(name)' is not running"), status: .notFound)
            }
            return json(s)
        }
        router.post("/v1/profiles/:name/unload") { request, context in
            let name = try context.parameters.require("name")
            let force = request.uri.queryParameters.get("force") == "1"
            let (ok, message) = await daemon.onDemand.unloadByHand(name, force: force)
            guard ok else { return json(ControlError("unload_refused", message: message), status: .conflict) }
            return json(["unloaded": name])
        }
        router.post("/v1/stop-all") { _, _ in
            json(await daemon.onDemand.stopAll(drain: Double(daemon.drainTimeout)))
        }
        router.post("/v1/reload") { _, _ in
            let result = await daemon.reloader.reload()
            return json(result, status: result.reloaded ? .ok : .unprocessableContent)
        }
        router.post("/v1/shutdown") { _, _ in
            daemon.requestShutdown()
            return json(["shutting_down": true])
        }
        router.post("/v1/restart") { _, _ in
            guard DaemonInfo.guardPid != nil else {
                return json(ControlError("no_guard", message: "this daemon runs without its guard (serve --worker): nothing would start the next one",
                                         hint: "run it as `hermes-runtime serve`"), status: .conflict)
            }
            await registry.handOff()
            daemon.requestShutdown()
            return json(["restarting": true])
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
    let drainTimeout: Int
    let requestShutdown: @Sendable () -> Void
    private let stopping = Mutex(false)

    init(configRoot: String, front: FrontHandle, gpu: GPUService, reloader: Reloader, onDemand: OnDemandManager, drainTimeout: Int,
         requestShutdown: @escaping @Sendable () -> Void) {
        self.onDemand = onDemand
        self.configRoot = configRoot
        self.front = front
        self.gpu = gpu
        self.reloader = reloader
        self.drainTimeout = drainTimeout
        self.requestShutdown = requestShutdown
    }

    var isStopping: Bool { stopping.withLock { $0 } }
    func markStopping() { stopping.withLock { $0 = true } }

    /// The guard that restarts this worker, when there is one (`serve` sets the variable for its worker).
    static let guardPid: Int32? = {
        guard let text = ProcessInfo.processInfo.environment[DaemonGuard.guardPidVariable], let pid = Int32(text), pid > 1,
            getppid() == pid
        else { return nil }
        return pid
    }()
}

/// The control context: Hummingbird's basic one plus the connection's channel, to read its peer.
struct ControlContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// Refuses a connection from another user (root excepted): SO_PEERCRED on the UNIX socket.
struct PeerCheck: RouterMiddleware {
    typealias Context = ControlContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let uid = await Self.peerUID(context.channel)
        guard let uid, uid == getuid() || uid == 0 else {
            context.logger.warning("control connection refused", metadata: ["peer_uid": "\(uid.map(String.init) ?? "unknown")"])
            return ControlAPI.json(ControlError("forbidden", message: "only uid \(getuid()) (or root) may use this daemon's control socket"), status: .forbidden)
        }
        return try await next(request, context)
    }

    static func peerUID(_ channel: any Channel) async -> uid_t? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let cred: PeerCredentials? = try? await provider.unsafeGetSocketOption(level: .socket, name: .init(rawValue: SO_PEERCRED)).get()
        return cred?.uid
    }

    /// `struct ucred` of <sys/socket.h> (visible to C only with _GNU_SOURCE): what SO_PEERCRED returns.
    struct PeerCredentials: Sendable {
        var pid: Int32 = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
    }
}
