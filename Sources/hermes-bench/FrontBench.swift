import ArgumentParser
import Foundation
import HermesCore
import HermesFront
// Hummingbird and Logging come with HermesFront; the bench only runs the application it builds.
import Hummingbird
import Logging
import Prometheus
import AsyncHTTPClient
import NIOCore

/// `hermes-bench front`: the routing front's costs.
///
/// `--decisions` times the request path's pure parts (decode, context, decide, body edit, prompt hash)
/// for an ordinary prompt, a 100K-character one and any `--body` files, against the shipped routes,
/// next to the alternatives they were chosen over (see FrontDecodeBench.swift).
/// `--serve UPSTREAM` runs the real front (`buildFront`) with one local profile whose server is
/// UPSTREAM, for `scripts/bench/front.sh` to load with wrk next to nginx.
struct FrontBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "front",
        abstract: "Routing front: decision time, or serve the front for scripts/bench/front.sh."
    )

    @Flag(help: "Time routing decisions and print them.")
    var decisions = false

    @Option(help: "Serve the front, forwarding to this upstream base URL (e.g. http://127.0.0.1:18081).")
    var serve: String?

    @Option(help: "With --serve: instead of the front, serve a floor to compare with: `static` (Hummingbird answering a fixed body, no upstream) or `forward` (Hummingbird + AsyncHTTPClient passing the request to the upstream, no routing) or `client` (the same with the front's own upstream client).")
    var floor: Floor?

    enum Floor: String, ExpressibleByArgument { case `static`, forward, client }

    @Flag(help: "With --serve: the front without its spend ledger (usage not recorded, no budget check), to measure what cost tracking adds.")
    var noLedger = false

    @Option(help: "Port for --serve.")
    var port = 18083

    @Option(help: "With --serve: cap on open client connections (default: from the descriptor limit).")
    var maxConnections: Int?

    @Option(help: "With --serve: seconds a connection has to send a complete request head.")
    var headTimeout = 30.0

    @Option(help: "Iterations per decision measurement.")
    var iterations = 20000

    @Option(help: "Config root for --decisions (default: the repository, whose runtime.yaml has the shipped routes).")
    var config: String?

    @Option(name: .customLong("body"), help: "With --decisions: also time this request body file (repeatable; scripts/bench/agent-body.py writes agent-sized ones).")
    var bodies: [String] = []

    func run() async throws {
        if decisions { try timeDecisions() }
        if let serve {
            if let floor { try await serveFloor(floor, upstream: serve) } else { try await serveFront(upstream: serve) }
        }
        if !decisions && serve == nil { print("nothing to do: pass --decisions or --serve URL") }
    }

    // MARK: serve

    func serveFront(upstream: String) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hermes-bench-front-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var settings = LlamaServerSettings()
        settings.port = 1
        settings.context = 1 << 20
        settings.slots = 1024
        var profile = Profile(name: "bench-local", kind: .llamaServer(settings), source: SourceLocation(file: "bench"))
        // Priced, so every answer is costed as well as counted (the ledger's whole path).
        profile.price = Price(input: Money(dollars: "0.10")!, output: Money(dollars: "0.20")!)
        var front = FrontSettings()
        front.defaultProfile = "bench-local"
        let config = HermesConfig(paths: RuntimePaths(configRoot: dir, stateDirectory: dir),
                                  runtime: RuntimeSettings(front: front, source: SourceLocation(file: "bench")),
                                  profiles: ["bench-local": profile])
        // Plenty of slots and context: the benchmark measures forwarding, not overflow.
        let runtime = StaticRuntimeState(["bench-local": LocalRuntimeStatus(
            phase: .ready, baseURL: upstream, slotsTotal: 1024, contextPerSlot: 1 << 20, slotsBusy: 0)])
        var logger = Logger(label: "hermes.front.bench")
        logger.logLevel = .error
        // Metrics into a Prometheus registry, as the daemon keeps them.
        let registry = PrometheusCollectorRegistry()
        var options = FrontOptions(host: "127.0.0.1", port: port, metricsFactory: PrometheusMetricsFactory(registry: registry),
                                   metricsText: { registry.emitToString() }, maxConnections: maxConnections, headTimeout: headTimeout)
        options.ledger = !noLedger
        HeapTuning.keepFreedBlocks()  // as the daemon does (Daemon.run)
        let (app, _) = try buildFront(config: config, runtime: runtime, eventsFile: dir.appendingPathComponent("events.jsonl"),
                                      logger: logger, options: options)
        print("front listening on 127.0.0.1:\(port), forwarding to \(upstream); events in \(dir.path)")
        try await app.runService()
    }

    /// What the stack costs before any routing: the same endpoint answered by Hummingbird alone, or
    /// passed to the upstream by Hummingbird and AsyncHTTPClient with nothing else in between.
    func serveFloor(_ floor: Floor, upstream: String) async throws {
        let router = Router()
        let answer = ByteBuffer(string: #"{"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"Renamed `count` to `total` in Sources/App/main.swift; the tests pass."}}],"created":1764000000,"model":"gemma-3-270m","object":"chat.completion","usage":{"completion_tokens":17,"prompt_tokens":42,"total_tokens":59}}"#)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        switch floor {
        case .static:
            router.post("/v1/chat/completions") { request, _ -> Response in
                var req = request
                _ = try await req.collectBody(upTo: 1 << 20)
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: answer))
            }
        case .forward:
            router.post("/v1/chat/completions") { request, _ -> Response in
                var req = request
                let body = try await req.collectBody(upTo: 1 << 20)
                var up = HTTPClientRequest(url: upstream + "/v1/chat/completions")
                up.method = .POST
                up.headers.add(name: "content-type", value: "application/json")
                up.body = .bytes(body)
                let response = try await client.execute(up, timeout: .seconds(30))
                let length = response.headers.first(name: "content-length").flatMap(Int.init)
                return Response(status: .init(code: Int(response.status.code)), headers: [.contentType: "application/json"],
                                body: ResponseBody(contentLength: length) { writer in
                                    for try await chunk in response.body { try await writer.write(chunk) }
                                    try await writer.finish(nil)
                                })
            }
        case .client:
            let lean = UpstreamClient(idleReadTimeout: .seconds(60))
            let (target, prefix) = UpstreamClient.parse(upstream)!
            router.post("/v1/chat/completions") { request, _ -> Response in
                var req = request
                let body = try await req.collectBody(upTo: 1 << 20)
                let response = try await lean.send(target, path: prefix + "/v1/chat/completions", headers: ["content-type": "application/json"],
                                                   body: body, connectTimeout: .seconds(1), firstByteTimeout: .seconds(30))
                let length = response.headers.first(name: "content-length").flatMap(Int.init)
                return Response(status: .init(code: response.status), headers: [.contentType: "application/json"],
                                body: ResponseBody(contentLength: length) { writer in
                                    for try await chunk in response.body { try await writer.write(chunk) }
                                    try await writer.finish(nil)
                                })
            }
        }
        router.get("/health") { _, _ in "ok" }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        print("floor \(floor.rawValue) listening on 127.0.0.1:\(port)")
        try await app.runService()
        try await client.shutdown()
    }
}
