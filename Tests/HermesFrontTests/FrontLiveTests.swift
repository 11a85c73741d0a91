import AsyncHTTPClient
import Foundation
import HermesCore
import HermesFront
import HermesTestSupport
import NIOCore
import Synchronization
import Testing

/// Two real llama-servers, started once for these tests and stopped at the end of the run:
/// "local" (`-c 1024 -np 2`: 512 tokens a slot) and "cloud" (`-c 4096 -np 1`, behind a `kind: openai`
/// profile with a key, started with `--api-key` so a missing or wrong key would fail).
actor LlamaPair {
    static let shared = LlamaPair()
    static let cloudKey = "sk-test-cloud-key"
    var servers: (local: LlamaServerProcess, cloud: LlamaServerProcess)?
    /// The start under way: suites run in parallel, and an actor lets a second caller in while the first
    /// awaits, so without this each suite started its own pair (eight servers on two cores).
    var starting: Task<(local: LlamaServerProcess, cloud: LlamaServerProcess), any Error>?

    func get() async throws -> (local: LlamaServerProcess, cloud: LlamaServerProcess) {
        if let servers { return servers }
        if let starting { return try await starting.value }
        let task = Task { () async throws -> (local: LlamaServerProcess, cloud: LlamaServerProcess) in
            let local = try await LlamaServerProcess.start(context: 1024, slots: 2)
            do {
                let cloud = try await LlamaServerProcess.start(context: 4096, slots: 1, extraArguments: ["--api-key", Self.cloudKey])
                return (local, cloud)
            } catch {
                local.stop()
                throw error
            }
        }
        starting = task
        do {
            let pair = try await task.value
            servers = pair
            starting = nil
            return pair
        } catch {
            starting = nil
            throw error
        }
    }

    func stop() {
        servers?.local.stop()
        servers?.cloud.stop()
        servers = nil
    }
}

enum LiveFixture {
    static func config(local: LlamaServerProcess, cloud: LlamaServerProcess, queueWait: Double = 0.1) throws -> HermesConfig {
        try FrontFixture.config([
            FrontFixture.local("demo-local", burst: "demo-cloud", context: 1024, slots: 2, reserve: 64, queueWait: queueWait),
            FrontFixture.remote("demo-cloud", baseURL: cloud.baseURL + "/v1", model: "gemma-cloud", keyEnv: "CLOUD_KEY"),
        ], default: "demo-local", aliases: ["local": "demo-local", "cloud": "demo-cloud"])
    }

    static func readyStatus(_ local: LlamaServerProcess) -> LocalRuntimeStatus {
        LocalRuntimeStatus(phase: .ready, baseURL: local.baseURL, slotsTotal: 2, contextPerSlot: 512, slotsBusy: 0)
    }

    static let options = FrontOptions(environment: ["CLOUD_KEY": LlamaPair.cloudKey])
}

@Suite(.serialized, .realProcesses) struct FrontLiveTests {
    @Test func shortPromptStaysLocal() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        try await withFront(try LiveFixture.config(local: local, cloud: cloud), runtime: runtime, options: LiveFixture.options) { f in
            // max_tokens as the Hermes agent sends it: its whole context. It must not push the request out.
            let a = try await send(f.base + "/v1/chat/completions", json: chatBody("Say hello.", maxTokens: 65536,
                                                                                 extra: #","n_predict":8"#))
            #expect(a.status == 200)
            #expect(a.header("X-Hermes-Route") == "demo-local")
            #expect(a.header("X-Hermes-Reason") == "default")
            #expect(a.header("X-Hermes-Attempts") == "demo-local:200")
            let choices = a.json["choices"] as? [[String: Any]]
            #expect(choices?.isEmpty == false)
            let e = try await f.event(id: a.requestID)
            #expect(e["profile"] as? String == "demo-local")
            #expect((e["latency"] as? [String: Any])?["first_byte_ms"] != nil)
        }
    }

    @Test func promptLongerThanASlotBurstsForContext() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        try await withFront(try LiveFixture.config(local: local, cloud: cloud), runtime: runtime, options: LiveFixture.options) { f in
            let long = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 60)   // ~2700 chars, ~600 tokens
            let a = try await send(f.base + "/v1/chat/completions", json: chatBody(long + "Summarize.", maxTokens: 4))
            #expect(a.status == 200)
            #expect(a.header("X-Hermes-Route") == "demo-cloud")
            #expect(a.header("X-Hermes-Reason") == "context")
            #expect(a.header("X-Hermes-Attempts") == "demo-cloud:200")
            // The cloud server runs with --api-key: a 200 means the profile's key went with the request.
            let usage = a.json["usage"] as? [String: Any]
            #expect((usage?["prompt_tokens"] as? Int ?? 0) > 512)
        }
    }

    @Test func nearTheLimitCountsExactlyAndStaysLocalWhenItFits() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        try await withFront(try LiveFixture.config(local: local, cloud: cloud), runtime: runtime, options: LiveFixture.options) { f in
            // ~1500 body bytes: estimate ~390 + 8 reserve is near 512, but gemma counts ~230 tokens.
            let text = String(repeating: "hello world ", count: 115)
            let a = try await send(f.base + "/v1/chat/completions", json: chatBody(text, maxTokens: 8))
            #expect(a.status == 200)
            #expect(a.header("X-Hermes-Route") == "demo-local")
            let e = try await f.event(id: a.requestID)
            let exact = e["prompt_tokens_exact"] as? Int
            #expect(exact != nil)
            #expect((exact ?? 0) < (e["prompt_tokens_estimate"] as? Int ?? 0))
        }
    }

    @Test func saturatingTheSlotsBurstsForOverflow() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        try await withFront(try LiveFixture.config(local: local, cloud: cloud), runtime: runtime, options: LiveFixture.options) { f in
            // Two streamed answers hold both slots; once each has sent its first chunk they are in flight.
            let started = AsyncStream<Void>.makeStream()
            let holders = (0..<2).map { i in
                Task {
                    let r = HTTPClientRequestBuilder.post(f.base + "/v1/chat/completions",
                                                          chatBody("Count from 1 to 100, one number per line. \(i)", maxTokens: 120, stream: true))
                    let resp = try await http.execute(r, timeout: .seconds(Int64(TestEnvironment.hangBound)))
                    var signalled = false
                    var text = ""
                    for try await chunk in resp.body {
                        text += String(buffer: chunk)
                        if !signalled { signalled = true; started.continuation.yield() }
                    }
                    return resp.headers.first(name: "X-Hermes-Route") ?? ""
                }
            }
            var n = 0
            for await _ in started.stream {
                n += 1
                if n == 2 { break }
            }
            let a = try await send(f.base + "/v1/chat/completions", json: chatBody("Say hi.", maxTokens: 4))
            #expect(a.status == 200)
            #expect(a.header("X-Hermes-Route") == "demo-cloud")
            #expect(a.header("X-Hermes-Reason") == "overflow")
            let routes = try await [holders[0].value, holders[1].value]
            #expect(routes == ["demo-local", "demo-local"])
            // With the slots free again, the next one stays local.
            let b = try await send(f.base + "/v1/chat/completions", json: chatBody("Say hi.", maxTokens: 4))
            #expect(b.header("X-Hermes-Route") == "demo-local")
        }
    }

    @Test func localDownBurstsEverything() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LocalRuntimeStatus(phase: .restarting)])
        try await withFront(try LiveFixture.config(local: local, cloud: cloud), runtime: runtime, options: LiveFixture.options) { f in
            let a = try await send(f.base + "/v1/chat/completions", json: chatBody("Say hi.", maxTokens: 4))
            #expect(a.status == 200)
            #expect(a.header("X-Hermes-Route") == "demo-cloud")
            #expect(a.header("X-Hermes-Reason") == "local_down")
            let s = try await send(f.base + "/v1/chat/completions", json: chatBody("Say hi.", maxTokens: 4, stream: true))
            #expect(s.header("X-Hermes-Route") == "demo-cloud")
            #expect(s.body.contains("data: [DONE]"))
        }
    }

    @Test func realStreamArrivesInManyChunksOverTime() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        try await withFront(try LiveFixture.config(local: local, cloud: cloud), runtime: runtime, options: LiveFixture.options) { f in
            let r = HTTPClientRequestBuilder.post(f.base + "/v1/chat/completions",
                                                  chatBody("Count from 1 to 30.", maxTokens: 48, stream: true,
                                                           extra: #","stream_options":{"include_usage":true}"#))
            let resp = try await http.execute(r, timeout: .seconds(Int64(TestEnvironment.hangBound)))
            #expect(resp.headers.first(name: "X-Hermes-Route") == "demo-local")
            var arrivals: [ContinuousClock.Instant] = []
            var text = ""
            for try await chunk in resp.body {
                arrivals.append(.now)
                text += String(buffer: chunk)
            }
            #expect(arrivals.count > 5)
            // The first chunk came well before the last was produced: nothing was held back.
            if let first = arrivals.first, let last = arrivals.last { #expect(last - first > .milliseconds(100)) }
            #expect(text.contains("\"usage\""))
            #expect(text.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test func embeddingsAndCompletionsAndModelsPassThrough() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        try await withFront(try LiveFixture.config(local: local, cloud: cloud), runtime: runtime, options: LiveFixture.options) { f in
            let c = try await send(f.base + "/v1/completions", json: #"{"prompt":"Once upon a time","max_tokens":4}"#)
            #expect(c.status == 200)
            #expect(c.header("X-Hermes-Route") == "demo-local")
            let m = try await send(f.base + "/v1/models", method: .GET)
            let ids = (m.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            #expect(Set(ids) == ["demo-local", "demo-cloud", "local", "cloud"])
            // Embeddings: this server was not started with --embeddings, so its own error passes through
            // (a 4xx/5xx from llama-server, with receipts), rather than the front failing.
            let e = try await send(f.base + "/v1/embeddings", json: #"{"input":"hello"}"#)
            #expect(e.header("X-Hermes-Route") != nil)
            #expect(e.status != 0)
            let health = try await send(f.base + "/health", method: .GET)
            #expect(health.status == 200)
            #expect((health.json["profiles"] as? [String: String])?["demo-local"] == "ready")
        }
    }
}
