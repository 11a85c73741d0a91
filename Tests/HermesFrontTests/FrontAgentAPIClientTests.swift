import Foundation
import HermesCore
import HermesFront
import HermesTestSupport
import Testing

/// The official `openai` (Responses API) and `anthropic` (Messages API) Python clients against the front,
/// with the real llama-server as local and a second one as the cloud: each call stays local when short
/// and bursts on context, the answer's `model` is the name asked for, and errors have each client's shape.
@Suite(.serialized, .realProcesses) struct FrontAgentAPIClientTests {
    static let script = #"""
    import json, os, urllib.request, urllib.error
    import anthropic, openai
    from openai import OpenAI
    from anthropic import Anthropic

    base = os.environ["FRONT_BASE"]
    key = os.environ["FRONT_KEY"]
    long = "The quick brown fox jumps over the lazy dog. " * 60 + "Summarize."
    o = OpenAI(base_url=base + "/v1", api_key=key, max_retries=0, timeout=120)
    a = Anthropic(base_url=base, api_key=key, max_retries=0, timeout=120)
    out = {}

    def receipt(h):
        return {"route": h.get("x-hermes-route"), "reason": h.get("x-hermes-reason"), "attempts": h.get("x-hermes-attempts")}

    for name, text in (("short", "Say hi."), ("long", long)):
        raw = o.responses.with_raw_response.create(model="local", input=text, max_output_tokens=8)
        r = raw.parse()
        out["responses_" + name] = dict(receipt(raw.headers), model=r.model, text=len(r.output_text or ""),
                                        usage=r.usage.input_tokens if r.usage else None)

    with o.responses.with_streaming_response.create(model="local", input="Say hi.", max_output_tokens=8, stream=True) as resp:
        events, model, done = 0, None, False
        for line in resp.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                e = json.loads(line[6:])
                events += 1
                if e.get("type") == "response.completed":
                    done = True
                    model = e["response"]["model"]
        out["responses_stream"] = dict(receipt(resp.headers), events=events, model=model, done=done)

    stream = o.responses.create(model="local", input=long, max_output_tokens=4, stream=True)
    kinds = [e.type for e in stream]
    out["responses_stream_long"] = {"completed": "response.completed" in kinds}

    for name, text in (("short", "Say hi."), ("long", long)):
        raw = a.messages.with_raw_response.create(model="claude-sonnet-4-5", max_tokens=8,
                                                  messages=[{"role": "user", "content": text}])
        m = raw.parse()
        out["messages_" + name] = dict(receipt(raw.headers), model=m.model, type=m.type, role=m.role,
                                       blocks=len(m.content),
                                       # A prompt the server has seen before is counted as read from its cache.
                                       usage=m.usage.input_tokens + (m.usage.cache_read_input_tokens or 0))
        raw = a.messages.with_raw_response.count_tokens(model="claude-sonnet-4-5",
                                                        messages=[{"role": "user", "content": text}])
        out["count_" + name] = dict(receipt(raw.headers), tokens=raw.parse().input_tokens)

    with a.messages.stream(model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "Say hi."}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
        out["messages_stream"] = dict(receipt(s.response.headers), model=final.model, stop=final.stop_reason,
                                      text=len(text))

    try:
        a.messages.create(model="x", max_tokens=4, messages=[{"role": "user", "content": "hi"}],
                          extra_headers={"X-Hermes-Profile": "nope"})
        out["bad"] = None
    except anthropic.BadRequestError as e:
        out["bad"] = {"status": e.status_code, "body": e.body}

    try:
        Anthropic(base_url=base, api_key="wrong", max_retries=0).messages.create(
            model="x", max_tokens=4, messages=[{"role": "user", "content": "hi"}])
        out["auth"] = None
    except anthropic.AuthenticationError as e:
        out["auth"] = {"status": e.status_code, "body": e.body}

    req = urllib.request.Request(base + "/v1/messages/batches", data=b"{}", method="POST",
                                 headers={"x-api-key": key, "content-type": "application/json"})
    try:
        urllib.request.urlopen(req)
        out["not_found"] = None
    except urllib.error.HTTPError as e:
        out["not_found"] = {"status": e.code, "body": json.loads(e.read())}
    print(json.dumps(out))
    """#

    @Test func officialClientsResponsesAndMessages() async throws {
        let python = FrontOpenAIClientTests.python
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("the Python clients are missing at \(python): run scripts/setup-python-tools.sh (or scripts/setup.sh)")
        }
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        var config = try AgentAPIFixture.config(local: local, cloud: cloud)
        config.runtime.front.apiKeyEnv = "FRONT_KEY"
        var options = LiveFixture.options
        options.environment["FRONT_KEY"] = "front-secret"

        let output: String = try await withFront(config, runtime: runtime, options: options) { f in
            try await runPython(Self.script, env: ["FRONT_BASE": f.base, "FRONT_KEY": "front-secret"])
        }
        let r = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [String: Any]?])
        func field(_ k: String, _ f: String) -> Any? { r[k]??[f] }

        // Responses: short stays local, long bursts for context; `model` is what the client asked for.
        #expect(field("responses_short", "route") as? String == "demo-local")
        #expect(field("responses_short", "attempts") as? String == "demo-local:200")
        #expect(field("responses_short", "model") as? String == "local")
        #expect((field("responses_short", "usage") as? Int ?? 0) > 0)
        #expect(field("responses_long", "route") as? String == "demo-cloud")
        #expect(field("responses_long", "reason") as? String == "context")
        #expect(field("responses_long", "model") as? String == "local")
        #expect((field("responses_long", "usage") as? Int ?? 0) > 512)
        #expect(field("responses_stream", "route") as? String == "demo-local")
        #expect(field("responses_stream", "done") as? Bool == true)
        #expect(field("responses_stream", "model") as? String == "local")
        #expect((field("responses_stream", "events") as? Int ?? 0) > 2)
        #expect(field("responses_stream_long", "completed") as? Bool == true)

        // Messages: the same, with Anthropic's shapes.
        #expect(field("messages_short", "route") as? String == "demo-local")
        #expect(field("messages_short", "model") as? String == "claude-sonnet-4-5")
        #expect(field("messages_short", "type") as? String == "message")
        #expect(field("messages_long", "route") as? String == "demo-cloud")
        #expect(field("messages_long", "reason") as? String == "context")
        #expect((field("messages_long", "usage") as? Int ?? 0) > 512)
        #expect(field("messages_stream", "route") as? String == "demo-local")
        #expect(field("messages_stream", "model") as? String == "claude-sonnet-4-5")
        #expect(field("messages_stream", "stop") as? String != nil)
        #expect(field("count_short", "route") as? String == "demo-local")
        #expect((field("count_short", "tokens") as? Int ?? 0) > 0)
        #expect(field("count_long", "route") as? String == "demo-cloud")
        #expect(field("count_long", "reason") as? String == "context")
        #expect((field("count_long", "tokens") as? Int ?? 0) > 512)

        // Errors on the Anthropic paths are Anthropic-shaped, the 404 of an unknown path included.
        #expect(field("bad", "status") as? Int == 400)
        let bad = field("bad", "body") as? [String: Any]
        #expect(bad?["type"] as? String == "error")
        #expect((bad?["error"] as? [String: Any])?["type"] as? String == "invalid_request_error")
        #expect(field("auth", "status") as? Int == 401)
        #expect(((field("auth", "body") as? [String: Any])?["error"] as? [String: Any])?["type"] as? String == "authentication_error")
        #expect(field("not_found", "status") as? Int == 404)
        let nf = field("not_found", "body") as? [String: Any]
        #expect(nf?["type"] as? String == "error")
        #expect((nf?["error"] as? [String: Any])?["type"] as? String == "not_found_error")
    }
}

enum AgentAPIFixture {
    /// The live pair, the cloud marked as speaking all three APIs (it is a llama-server too).
    static func config(local: LlamaServerProcess, cloud: LlamaServerProcess, promote: Bool = false,
                       cloudVision: Bool = false) throws -> HermesConfig
    {
        var config = try LiveFixture.config(local: local, cloud: cloud)
        if case .openai(var s)? = config.profiles["demo-cloud"]?.kind {
            s.apis = AgentAPI.allCases
            s.vision = cloudVision
            config.profiles["demo-cloud"]?.kind = .openai(s)
        }
        if case .llamaServer(var s)? = config.profiles["demo-local"]?.kind {
            s.promoteBadToolCalls = promote
            config.profiles["demo-local"]?.kind = .llamaServer(s)
        }
        return config
    }
}

/// Runs a Python script with the cache's venv; its stdout, or a failure with its stderr.
///
/// Output goes to files and the exit is awaited through `terminationHandler`: blocking reads of pipes
/// would hold Swift Concurrency's few threads (two on this machine) and starve the front under test.
func runPython(_ script: String, env extra: [String: String], timeout: Double = 240) async throws -> String {
    let dir = try TestEnvironment.temporaryDirectory("pyclient")
    let file = dir.appendingPathComponent("client.py")
    let outFile = dir.appendingPathComponent("stdout"), errFile = dir.appendingPathComponent("stderr")
    try script.write(to: file, atomically: true, encoding: .utf8)
    FileManager.default.createFile(atPath: outFile.path, contents: nil)
    FileManager.default.createFile(atPath: errFile.path, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: FrontOpenAIClientTests.python)
    p.arguments = [file.path]
    p.environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
    p.standardOutput = try FileHandle(forWritingTo: outFile)
    p.standardError = try FileHandle(forWritingTo: errFile)
    let (exits, exited) = AsyncStream<Int32>.makeStream()
    p.terminationHandler = { proc in
        exited.yield(proc.terminationStatus)
        exited.finish()
    }
    try p.run()
    let watchdog = Task {
        try await Task.sleep(for: .seconds(timeout))
        if p.isRunning { p.terminate() }
    }
    var status: Int32 = -1
    for await s in exits { status = s }
    watchdog.cancel()
    let o = (try? String(contentsOf: outFile, encoding: .utf8)) ?? ""
    let e = (try? String(contentsOf: errFile, encoding: .utf8)) ?? ""
    guard status == 0 else { throw TestFailure("client script failed (\(status)):\n\(e.suffix(4000))") }
    return o
}
