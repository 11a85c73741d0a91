import AsyncHTTPClient
import CoreMetrics
import Foundation
import HTTPTypes
import HermesCore
import HermesFront
import HermesTestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// A runtime state the test changes as it goes, recording the failures the front reports.
final class MutableRuntimeState: RuntimeStateProvider {
    let statuses: Mutex<[String: LocalRuntimeStatus]>
    let failures = Mutex<[(profile: String, status: Int?, reason: String)]>([])

    init(_ statuses: [String: LocalRuntimeStatus] = [:]) { self.statuses = Mutex(statuses) }

    func set(_ name: String, _ status: LocalRuntimeStatus?) { statuses.withLock { $0[name] = status } }
    func status(ofProfile name: String) async -> LocalRuntimeStatus? { statuses.withLock { $0[name] } }
    func reportFailure(profile: String, httpStatus: Int?, reason: String) async {
        failures.withLock { $0.append((profile, httpStatus, reason)) }
    }
    var reported: [(profile: String, status: Int?, reason: String)] { failures.withLock { $0 } }
}

/// Metrics kept in memory so tests can read what the front recorded.
final class RecordingMetrics: MetricsFactory, Sendable {
    final class Handler: CounterHandler, RecorderHandler, TimerHandler, Sendable {
        let value = Mutex<Double>(0)
        let count = Mutex<Int>(0)
        func increment(by amount: Int64) { value.withLock { $0 += Double(amount) } }
        func reset() { value.withLock { $0 = 0 } }
        func record(_ v: Int64) { record(Double(v)) }
        func record(_ v: Double) { value.withLock { $0 = v }; count.withLock { $0 += 1 } }
        func recordNanoseconds(_ duration: Int64) { record(Double(duration)) }
    }

    let handlers = Mutex<[String: Handler]>([:])

    static func key(_ label: String, _ dims: [(String, String)]) -> String {
        label + "{" + dims.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
    }

    func handler(_ label: String, _ dims: [(String, String)]) -> Handler {
        handlers.withLock { h in
            let k = Self.key(label, dims)
            if let x = h[k] { return x }
            let x = Handler()
            h[k] = x
            return x
        }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { handler(label, dimensions) }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { handler(label, dimensions) }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { handler(label, dimensions) }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    func value(_ label: String, _ dims: [(String, String)] = []) -> Double {
        handlers.withLock { $0[Self.key(label, dims)]?.value.withLock { $0 } ?? 0 }
    }

    /// A Prometheus-like dump, for the /metrics hook in tests.
    func render() -> String {
        handlers.withLock { h in h.keys.sorted().map { "\($0) \(h[$0]!.value.withLock { $0 })" }.joined(separator: "\n") }
    }
}

enum FrontFixture {
    static let logger: Logger = {
        var l = Logger(label: "hermes.front.test")
        l.logLevel = .warning
        return l
    }()

    static func local(_ name: String, burst: String?, context: Int = 1024, slots: Int = 2, reserve: Int = 64,
                      queueWait: Double = 0.1) -> Profile
    {
        var s = LlamaServerSettings()
        s.port = 1
        s.context = context
        s.slots = slots
        s.burst = burst
        s.outputReserve = reserve
        s.queueWait = queueWait
        return Profile(name: name, kind: .llamaServer(s), source: SourceLocation(file: "\(name).yaml"))
    }

    static func remote(_ name: String, baseURL: String, model: String? = nil, fallback: [String]? = nil,
                       keyEnv: String? = nil, timeout: Double? = nil, cooldown: Double? = nil,
                       headers: [String: String]? = nil) -> Profile
    {
        var s = OpenAISettings()
        s.baseURL = baseURL
        s.model = model
        s.fallback = fallback
        s.apiKeyEnv = keyEnv
        s.timeout = timeout
        s.cooldown = cooldown
        s.headers = headers
        return Profile(name: name, kind: .openai(s), source: SourceLocation(file: "\(name).yaml"))
    }

    static func config(_ profiles: [Profile], default def: String, routes: [Route] = [], aliases: [String: String] = [:],
                       apiKeyEnv: String? = nil, maxBody: Int? = nil, host: String = "127.0.0.1") throws -> HermesConfig
    {
        let dir = try TestEnvironment.temporaryDirectory("front")
        var front = FrontSettings()
        front.host = host
        front.port = 0
        front.defaultProfile = def
        front.routes = routes
        front.aliases = aliases
        front.apiKeyEnv = apiKeyEnv
        if let maxBody { front.maxBodyBytes = maxBody }
        return HermesConfig(paths: RuntimePaths(configRoot: dir, stateDirectory: dir.appendingPathComponent("state")),
                            runtime: RuntimeSettings(front: front, source: SourceLocation(file: "runtime.yaml")),
                            profiles: Dictionary(uniqueKeysWithValues: profiles.map { ($0.name, $0) }))
    }
}

/// A running front (port 0 on loopback) for one test.
struct LiveFront: Sendable {
    let port: Int
    let front: RoutingFront
    let eventsFile: URL
    var base: String { "http://127.0.0.1:\(port)" }

    /// The JSONL events written so far.
    func events() throws -> [[String: Any]] {
        guard let text = try? String(contentsOf: eventsFile, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// Waits (bounded) for the event with this request id: streamed answers log when the body ends.
    func event(id: String, within seconds: Double = 5) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let e = try events().first(where: { $0["id"] as? String == id }) { return e }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("no event for request \(id) within \(seconds)s")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Builds the front with `buildFront` (the daemon's wiring) and runs it live for `body`.
func withFront<T: Sendable>(
    _ config: HermesConfig, runtime: any RuntimeStateProvider, options: FrontOptions = FrontOptions(),
    _ body: @Sendable (LiveFront) async throws -> T
) async throws -> T {
    let events = config.paths.stateDirectory.appendingPathComponent("events.jsonl")
    var opts = options
    opts.port = 0
    opts.host = opts.host ?? "127.0.0.1"
    let (app, front) = try buildFront(config: config, runtime: runtime, eventsFile: events, logger: FrontFixture.logger, options: opts)
    return try await app.test(.live) { client in
        try await body(LiveFront(port: client.port!, front: front, eventsFile: events))
    }
}

/// A plain answer from the front.
struct Answer: Sendable {
    let status: Int
    let headers: [String: String]
    let body: String
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    func header(_ name: String) -> String? { headers[name.lowercased()] }
    var requestID: String { header("x-request-id") ?? "" }
}

let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)

func send(_ url: String, method: HTTPMethod = .POST, json: String? = nil, headers: [String: String] = [:],
          timeout: Int64 = Int64(TestEnvironment.hangBound)) async throws -> Answer
{
    var r = HTTPClientRequest(url: url)
    r.method = method
    if let json {
        r.body = .bytes(ByteBuffer(string: json))
        r.headers.add(name: "content-type", value: "application/json")
    }
    for (k, v) in headers { r.headers.add(name: k, value: v) }
    let resp = try await http.execute(r, timeout: .seconds(timeout))
    let body = try await resp.body.collect(upTo: 64 << 20)
    var h: [String: String] = [:]
    for f in resp.headers { h[f.name.lowercased()] = f.value }
    return Answer(status: Int(resp.status.code), headers: h, body: String(buffer: body))
}

func chatBody(_ prompt: String, maxTokens: Int = 8, stream: Bool = false, model: String = "any", extra: String = "") -> String {
    let content = String(data: try! JSONSerialization.data(withJSONObject: [prompt], options: []), encoding: .utf8)!.dropFirst().dropLast()
    return #"{"model":"\#(model)","messages":[{"role":"user","content":\#(content)}],"max_tokens":\#(maxTokens),"stream":\#(stream),"temperature":0\#(extra)}"#
}

/// A test-only upstream that misbehaves on request, one behaviour per path prefix:
/// `/ok`, `/429` (Retry-After: 1; `/429xN`: N), `/502`, `/failsN` (502 for the first N, then ok), `/cors`
/// (ok with `Access-Control-Allow-Origin: *`), `/503`, `/slow` (answers after 2 s), `/cut` (a stream cut after
/// two chunks), `/headdie` (a 200 head, then the connection dies before any body byte), `/gated` (first
/// chunk, then waits for `openGate()` before the rest). `lastBody` holds the raw bytes last received.
final class FaultUpstream: Sendable {
    let hits = Mutex<[String: Int]>([:])
    let gate: AsyncStream<Void>
    let gateOpener: AsyncStream<Void>.Continuation
    let lastRequest = Mutex<Data?>(nil)
    let lastHeaders = Mutex<[String: String]>([:])
    let app = RunningTestApp()

    init() {
        (gate, gateOpener) = AsyncStream<Void>.makeStream()
    }

    var port: Int { app.port }
    func url(_ mode: String) -> String { "http://127.0.0.1:\(port)/\(mode)" }
    func hitCount(_ mode: String) -> Int { hits.withLock { $0[mode] ?? 0 } }
    func openGate() { gateOpener.yield() }
    var received: [String: Any]? { lastRequest.withLock { $0 }.flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any] } }
    var receivedHeaders: [String: String] { lastHeaders.withLock { $0 } }
    var lastBody: String { lastRequest.withLock { $0 }.map { String(decoding: $0, as: UTF8.self) } ?? "" }

    static func completion(model: String, content: String = "ok") -> String {
        #"{"id":"chatcmpl-fault","object":"chat.completion","created":1,"model":"\#(model)","choices":[{"index":0,"message":{"role":"assistant","content":"\#(content)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#
    }

    /// An answer's text of 200 KB, above the size a spliced answer is gathered into one buffer.
    static let bigContent = String(repeating: "the model wrote this line ", count: 8_000)

    /// Stopping by cancellation makes Hummingbird log errors that mean nothing here.
    static let quiet: Logger = {
        var l = Logger(label: "fault-upstream")
        l.logLevel = .critical
        return l
    }()

    static func chunk(_ text: String) -> ByteBuffer {
        ByteBuffer(string: #"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"\#(text)"},"finish_reason":null}]}"# + "\n\n")
    }

    func start() async throws {
        let router = Router()
        router.post(":mode/v1/chat/completions") { request, context -> Response in
            let mode = context.parameters.get("mode") ?? ""
            self.hits.withLock { $0[mode, default: 0] += 1 }
            var req = request
            let body = try await req.collectBody(upTo: 64 << 20)
            let data = Data(body.readableBytesView)
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            self.lastRequest.withLock { $0 = data }
            var hs: [String: String] = [:]
            for f in request.headers { hs[f.name.canonicalName] = f.value }
            self.lastHeaders.withLock { $0 = hs }
            let model = object?["model"] as? String ?? "none"
            let stream = object?["stream"] as? Bool ?? false
            var json = HTTPFields()
            json[.contentType] = "application/json"
            var sse = HTTPFields()
            sse[.contentType] = "text/event-stream"
            switch mode {
            case let m where m == "429" || m.hasPrefix("429x"):
                // `/429`: Retry-After 1; `/429xN`: Retry-After N.
                var h = json
                h[HTTPField.Name("Retry-After")!] = m == "429" ? "1" : String(m.dropFirst(4))
                return Response(status: .tooManyRequests, headers: h, body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"slow down"}}"#)))
            case "502", "503":
                return Response(status: .init(code: Int(mode)!), headers: json, body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"down"}}"#)))
            case let m where m.hasPrefix("fails"):
                // `/failsN`: the first N requests get a 502, then it answers.
                if self.hitCount(m) <= Int(m.dropFirst(5)) ?? 0 {
                    return Response(status: .badGateway, headers: json, body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"down"}}"#)))
                }
            case "cors":
                json[.accessControlAllowOrigin] = "*"
                json[.accessControlAllowCredentials] = "true"
            case "slow":
                try await Task.sleep(for: .seconds(2))
            case "cut":
                return Response(status: .ok, headers: sse, body: ResponseBody { writer in
                    try await writer.write(Self.chunk("one"))
                    try await writer.write(Self.chunk("two"))
                    try await Task.sleep(for: .milliseconds(50))
                    throw TestFailure("cut on purpose")
                })
            case "headdie":
                // The head goes out, then the server dies before its first token.
                return Response(status: .ok, headers: sse, body: ResponseBody { _ in
                    throw TestFailure("died after the head")
                })
            case "big":
                // A 200 KB answer in three chunks: the front gathers it, then splices `model`.
                let text = Self.completion(model: model, content: Self.bigContent)
                let bytes = Array(text.utf8), third = bytes.count / 3
                return Response(status: .ok, headers: json, body: ResponseBody(contentLength: bytes.count) { writer in
                    for part in [bytes[..<third], bytes[third..<(2 * third)], bytes[(2 * third)...]] {
                        try await writer.write(ByteBuffer(bytes: part))
                    }
                    try await writer.finish(nil)
                })
            case "gated":
                let gate = self.gate
                return Response(status: .ok, headers: sse, body: ResponseBody { writer in
                    try await writer.write(Self.chunk("first"))
                    for await _ in gate { break }
                    try await writer.write(Self.chunk("last"))
                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                    try await writer.finish(nil)
                })
            default:
                break
            }
            if stream {
                return Response(status: .ok, headers: sse, body: ResponseBody { writer in
                    try await writer.write(Self.chunk("ok"))
                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                    try await writer.finish(nil)
                })
            }
            return Response(status: .ok, headers: json, body: .init(byteBuffer: ByteBuffer(string: Self.completion(model: model))))
        }
        router.get(":mode/props") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"total_slots":2}"#)))
        }
        await app.run(router, logger: Self.quiet)
    }

    func stop() async { await app.stop() }
}

/// A Hummingbird app on a free loopback port, run in a task of its own until `stop`: the test
/// upstreams' common part.
final class RunningTestApp: Sendable {
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let portValue = Mutex<Int?>(nil)
    var port: Int { portValue.withLock { $0 ?? 0 } }

    /// Returns once the app listens.
    func run(_ router: Router<BasicRequestContext>, logger: Logger) async {
        let (ports, cont) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in cont.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        let t = Task { try await app.runService(gracefulShutdownSignals: []) }
        task.withLock { $0 = t }
        for await p in ports {
            portValue.withLock { $0 = p }
            break
        }
    }

    func stop() async {
        let t = task.withLock { $0 }
        t?.cancel()
        _ = try? await t?.value
    }
}

/// A test upstream that starts and stops.
protocol StartableUpstream: Sendable {
    func start() async throws
    func stop() async
}

extension FaultUpstream: StartableUpstream {}

/// Runs `body` with `upstream` started, stopping it afterwards whatever happens.
func withStarted<U: StartableUpstream, T: Sendable>(_ upstream: U, _ body: @Sendable (U) async throws -> T) async throws -> T {
    try await upstream.start()
    do {
        let v = try await body(upstream)
        await upstream.stop()
        return v
    } catch {
        await upstream.stop()
        throw error
    }
}

/// Runs `body` with a started fault upstream, stopping it afterwards whatever happens.
func withFaultUpstream<T: Sendable>(_ body: @Sendable (FaultUpstream) async throws -> T) async throws -> T {
    try await withStarted(FaultUpstream(), body)
}
