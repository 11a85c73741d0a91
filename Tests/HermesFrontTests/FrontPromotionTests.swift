import Foundation
import HTTPTypes
import HermesCore
import HermesFront
import HermesTestSupport
import Hummingbird
import Logging
import NIOCore
import Synchronization
import Testing

/// Images go to a profile that can see; a local answer with a bad tool call is promoted to the burst
/// profile (the real cloud llama-server), streamed and not; requests skip profiles that do not speak
/// their API, and the receipt says so.
@Suite(.serialized) struct FrontPromotionTests {
    static let tools = #","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]"#

    @Test func anImageBurstsWithVisionToAProfileThatCanSee() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        try await withFaultUpstream { fault in
            var config = try AgentAPIFixture.config(local: local, cloud: cloud)
            // The seeing cloud is the fault upstream's `ok` answer: no vision model ships with the tests.
            var seeing = FrontFixture.remote("seeing", baseURL: fault.url("ok") + "/v1")
            if case .openai(var s) = seeing.kind { s.vision = true; seeing.kind = .openai(s) }
            config.profiles["seeing"] = seeing
            if case .openai(var s)? = config.profiles["demo-cloud"]?.kind {
                s.fallback = ["seeing"]
                config.profiles["demo-cloud"]?.kind = .openai(s)
            }
            let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
            try await withFront(config, runtime: runtime, options: LiveFixture.options) { f in
                let image = #"{"model":"local","max_tokens":4,"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}"#
                let a = try await send(f.base + "/v1/chat/completions", json: image)
                #expect(a.status == 200)
                #expect(a.header("X-Hermes-Route") == "seeing")
                #expect(a.header("X-Hermes-Reason") == "vision")
                #expect(a.header("X-Hermes-Attempts") == "demo-cloud:skipped_vision,seeing:200")
                #expect(a.json["model"] as? String == "local")
                let e = try await f.event(id: a.requestID)
                #expect(e["reasons"] as? [String] == ["vision"])
                // The same words without the image stay local.
                let text = try await send(f.base + "/v1/chat/completions", json: chatBody("What is this?", maxTokens: 4))
                #expect(text.header("X-Hermes-Route") == "demo-local")
            }
        }
    }

    @Test func aBadToolCallIsPromotedOnceToTheBurstProfile() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        try await withToolCallUpstream { fake in
            let config = try AgentAPIFixture.config(local: local, cloud: cloud, promote: true)
            let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
            runtime.set("demo-local", LocalRuntimeStatus(phase: .ready, baseURL: fake.base, slotsTotal: 2, contextPerSlot: 512, slotsBusy: 0))
            try await withFront(config, runtime: runtime, options: LiveFixture.options) { f in
                for stream in [false, true] {
                    fake.tool.withLock { $0 = "delete_everything" }
                    let a = try await send(f.base + "/v1/chat/completions",
                                           json: chatBody("Weather in Paris?", maxTokens: 8, stream: stream, model: "local", extra: Self.tools))
                    #expect(a.status == 200)
                    #expect(a.header("X-Hermes-Route") == "demo-cloud", "stream \(stream)")
                    #expect(a.header("X-Hermes-Reason") == "bad_tool_call")
                    #expect(a.header("X-Hermes-Attempts") == "demo-local:bad_tool_call,demo-cloud:200")
                    #expect(!a.body.contains("delete_everything"))
                    let e = try await f.event(id: a.requestID)
                    #expect(e["reasons"] as? [String] == ["bad_tool_call"])

                    // A good call is delivered as the local server sent it, `model` renamed.
                    fake.tool.withLock { $0 = "get_weather" }
                    let good = try await send(f.base + "/v1/chat/completions",
                                              json: chatBody("Weather in Paris?", maxTokens: 8, stream: stream, model: "local", extra: Self.tools))
                    #expect(good.header("X-Hermes-Route") == "demo-local")
                    #expect(good.header("X-Hermes-Attempts") == "demo-local:200")
                    #expect(good.body.contains("get_weather"))
                    #expect(good.body.contains(#""model":"local""#))
                    #expect(!good.body.contains("fake-gguf"))
                }
            }
            // A stream that holds more than the judge's limit before its calls are complete is let
            // through unjudged rather than held without end.
            try await withFront(config, runtime: runtime, options: LiveFixture.options) { f in
                fake.tool.withLock { $0 = "delete_everything" }
                fake.leadingComments.withLock { $0 = ToolCallStreamJudge.maxHeldBytes + 100_000 }
                defer { fake.leadingComments.withLock { $0 = 0 } }
                let a = try await send(f.base + "/v1/chat/completions",
                                       json: chatBody("Weather in Paris?", maxTokens: 8, stream: true, model: "local", extra: Self.tools))
                #expect(a.status == 200)
                #expect(a.header("X-Hermes-Route") == "demo-local")
                #expect(a.body.contains("delete_everything") && a.body.hasSuffix("data: [DONE]\n\n"))
            }
            // Off unless the profile turns it on.
            let off = try AgentAPIFixture.config(local: local, cloud: cloud, promote: false)
            try await withFront(off, runtime: runtime, options: LiveFixture.options) { f in
                fake.tool.withLock { $0 = "delete_everything" }
                let a = try await send(f.base + "/v1/chat/completions",
                                       json: chatBody("Weather in Paris?", maxTokens: 8, model: "local", extra: Self.tools))
                #expect(a.header("X-Hermes-Route") == "demo-local")
                #expect(a.body.contains("delete_everything"))
            }
        }
    }

    @Test func aBurstTargetThatDoesNotSpeakTheAPIIsSkipped() async throws {
        let (local, cloud) = try await LlamaPair.shared.get()
        // demo-cloud as configured by default: a remote speaks `chat` only.
        let config = try LiveFixture.config(local: local, cloud: cloud)
        let runtime = MutableRuntimeState([:])  // demo-local is down
        try await withFront(config, runtime: runtime, options: LiveFixture.options) { f in
            let a = try await send(f.base + "/v1/messages", json: #"{"model":"x","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(a.status == 503)
            #expect(a.header("X-Hermes-Attempts") == "demo-local:down,demo-cloud:skipped_api")
            #expect(a.json["type"] as? String == "error")
            let chat = try await send(f.base + "/v1/chat/completions", json: chatBody("hi", maxTokens: 4))
            #expect(chat.header("X-Hermes-Route") == "demo-cloud")
        }
    }
}

/// A test-only OpenAI upstream whose every chat answer is one call to the tool named in `tool`, streamed
/// (as llama-server streams tool calls: the name, then the arguments in pieces) or not.
final class ToolCallUpstream: StartableUpstream {
    let tool = Mutex("get_weather")
    /// Bytes of `: ping` comments sent before the first event of a streamed answer.
    let leadingComments = Mutex(0)
    let app = RunningTestApp()
    var base: String { "http://127.0.0.1:\(app.port)" }

    static func chunk(_ delta: String, finish: String? = nil) -> String {
        "data: " + #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"fake-gguf","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish.map { "\"\($0)\"" } ?? "null")}]}"# + "\n\n"
    }

    func start() async throws {
        let router = Router()
        router.post("/v1/chat/completions") { request, _ -> Response in
            var req = request
            let body = try await req.collectBody(upTo: 1 << 20)
            let stream = String(buffer: body).contains(#""stream":true"#)
            let name = self.tool.withLock { $0 }
            if stream {
                let events = [
                    Self.chunk(#"{"role":"assistant","content":null}"#),
                    Self.chunk(#"{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"\#(name)","arguments":""}}]}"#),
                    Self.chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}"#),
                    Self.chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}"#),
                    Self.chunk("{}", finish: "tool_calls"),
                    "data: [DONE]\n\n",
                ]
                let comments = self.leadingComments.withLock { $0 }
                return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                    let ping = String(repeating: ": ping\n\n", count: 1024)
                    var sent = 0
                    while sent < comments {
                        try await writer.write(ByteBuffer(string: ping))
                        sent += ping.utf8.count
                    }
                    for e in events { try await writer.write(ByteBuffer(string: e)) }
                    try await writer.finish(nil)
                })
            }
            let json = #"{"id":"x","object":"chat.completion","created":1,"model":"fake-gguf","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"\#(name)","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        await app.run(router, logger: FaultUpstream.quiet)
    }

    func stop() async { await app.stop() }
}

func withToolCallUpstream<T: Sendable>(_ body: @Sendable (ToolCallUpstream) async throws -> T) async throws -> T {
    try await withStarted(ToolCallUpstream(), body)
}
