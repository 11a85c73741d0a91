import Foundation
import HermesCore
import HermesFront
import HermesTestSupport
import Testing

/// The official `openai` Python client (scripts/setup-python-tools.sh puts it in the cache's venv)
/// against the front, the way real agents talk to it: streaming with usage, tools, a `tool_calls`
/// round trip, a bearer key, and an error it must understand.
@Suite(.serialized, .realProcesses) struct FrontOpenAIClientTests {
    static let script = #"""
    import json, os, sys
    import openai
    from openai import OpenAI

    c = OpenAI(base_url=os.environ["FRONT_BASE"], api_key=os.environ["FRONT_KEY"], max_retries=0, timeout=120)
    out = {}
    user = [{"role": "user", "content": "Say hi."}]

    raw = c.chat.completions.with_raw_response.create(model="local", messages=user, max_tokens=8)
    r = raw.parse()
    out["plain"] = {"route": raw.headers.get("x-hermes-route"), "attempts": raw.headers.get("x-hermes-attempts"),
                    "content": r.choices[0].message.content, "finish": r.choices[0].finish_reason,
                    "usage": r.usage.total_tokens if r.usage else None}

    chunks, usage = 0, None
    stream = c.chat.completions.create(model="local", messages=user, max_tokens=16, stream=True,
                                       stream_options={"include_usage": True})
    for ch in stream:
        if ch.usage:
            usage = ch.usage.total_tokens
        if ch.choices and ch.choices[0].delta.content:
            chunks += 1
    out["stream"] = {"chunks": chunks, "usage": usage}

    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather for a city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    msgs = [{"role": "user", "content": "What is the weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"}]
    text, usage, finish = "", None, None
    stream = c.chat.completions.create(model="local", messages=msgs, tools=tools, max_tokens=16, stream=True,
                                       stream_options={"include_usage": True})
    for ch in stream:
        if ch.usage:
            usage = ch.usage.total_tokens
        if ch.choices:
            d = ch.choices[0].delta
            if d.content:
                text += d.content
            if ch.choices[0].finish_reason:
                finish = ch.choices[0].finish_reason
    out["tools"] = {"text": len(text), "usage": usage, "finish": finish}

    try:
        c.chat.completions.create(model="local", messages=user, max_tokens=4, extra_headers={"X-Hermes-Profile": "nope"})
        out["bad"] = None
    except openai.BadRequestError as e:
        out["bad"] = {"status": e.status_code, "code": e.code}

    try:
        OpenAI(base_url=os.environ["FRONT_BASE"], api_key="wrong", max_retries=0).models.list()
        out["auth"] = None
    except openai.AuthenticationError as e:
        out["auth"] = e.status_code

    out["models"] = sorted(m.id for m in c.models.list().data)
    print(json.dumps(out))
    """#

    static var python: String {
        TestEnvironment.cacheDirectory.appendingPathComponent("venv/bin/python").path
    }

    @Test func officialClientStreamingToolsAndErrors() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw TestFailure("the openai Python client is missing at \(Self.python): run scripts/setup-python-tools.sh (or scripts/setup.sh)")
        }
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        var config = try LiveFixture.config(local: local, cloud: cloud)
        config.runtime.front.apiKeyEnv = "FRONT_KEY"
        var options = LiveFixture.options
        options.environment["FRONT_KEY"] = "front-secret"
        let scriptFile = try TestEnvironment.temporaryDirectory("openai").appendingPathComponent("client.py")
        try Self.script.write(to: scriptFile, atomically: true, encoding: .utf8)

        let output: String = try await withFront(config, runtime: runtime, options: options) { f in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.python)
            p.arguments = [scriptFile.path]
            var env = ProcessInfo.processInfo.environment
            env["FRONT_BASE"] = f.base + "/v1"
            env["FRONT_KEY"] = "front-secret"
            p.environment = env
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            // Bounded: the script's own client timeout is 120 s; kill it well after that.
            let deadline = Date().addingTimeInterval(180)
            while p.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            if p.isRunning { p.terminate() }
            p.waitUntilExit()
            let stdout = String(data: out.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8) ?? ""
            let stderr = String(data: err.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8) ?? ""
            guard p.terminationStatus == 0 else { throw TestFailure("client script failed (\(p.terminationStatus)):\n\(stderr)") }
            return stdout
        }
        let result = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let plain = result["plain"] as? [String: Any]
        #expect(plain?["route"] as? String == "demo-local")
        #expect(plain?["attempts"] as? String == "demo-local:200")
        #expect((plain?["usage"] as? Int ?? 0) > 0)
        let stream = result["stream"] as? [String: Any]
        #expect((stream?["chunks"] as? Int ?? 0) > 0)
        #expect((stream?["usage"] as? Int ?? 0) > 0)
        let tools = result["tools"] as? [String: Any]
        #expect((tools?["usage"] as? Int ?? 0) > 0)
        #expect(tools?["finish"] as? String != nil)
        let bad = result["bad"] as? [String: Any]
        #expect(bad?["status"] as? Int == 400)
        #expect(bad?["code"] as? String == "unknown_profile")
        #expect(result["auth"] as? Int == 401)
        #expect(result["models"] as? [String] == ["cloud", "demo-cloud", "demo-local", "local"])
    }
}
