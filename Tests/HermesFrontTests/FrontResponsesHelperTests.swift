import Foundation
import HermesCore
import HermesFront
import HermesTestSupport
import Testing

/// The official openai SDK's Responses streaming helper (`client.responses.stream(...)`, then
/// `get_final_response()`) through the front, short (local) and long (burst): llama-server b11434's
/// events lack `output_index`, `content_index` and `sequence_number`, which the helper indexes with.
@Suite(.serialized, .realProcesses) struct FrontResponsesHelperTests {
    static let script = #"""
    import json, os
    from openai import OpenAI

    base = os.environ["FRONT_BASE"]
    o = OpenAI(base_url=base + "/v1", api_key="none", max_retries=0, timeout=120)
    long = "The quick brown fox jumps over the lazy dog. " * 60 + "Summarize."
    out = {}
    for name, text in (("short", "Say hi."), ("long", long)):
        deltas, seqs, kinds = "", [], []
        with o.responses.stream(model="local", input=text, max_output_tokens=12) as s:
            for e in s:
                kinds.append(e.type)
                seqs.append(e.sequence_number)
                if e.type == "response.output_text.delta":
                    deltas += e.delta
            final = s.get_final_response()
        out[name] = {"text": final.output_text, "deltas": deltas, "model": final.model, "status": final.status,
                     "seqs": seqs, "kinds": kinds}
    r = o.responses.create(model="local", input="Say hi.", max_output_tokens=8)
    out["plain"] = {"text": r.output_text, "status": r.status, "items": [i.type for i in r.output]}
    print(json.dumps(out))
    """#

    @Test func theStreamingHelperReadsLocalAndBurstAnswers() async throws {
        let python = FrontOpenAIClientTests.python
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("the Python clients are missing at \(python): run scripts/setup-python-tools.sh (or scripts/setup.sh)")
        }
        let (local, cloud) = try await LlamaPair.shared.get()
        let runtime = MutableRuntimeState(["demo-local": LiveFixture.readyStatus(local)])
        let config = try AgentAPIFixture.config(local: local, cloud: cloud)
        let output: String = try await withFront(config, runtime: runtime, options: LiveFixture.options) { f in
            let out = try await runPython(Self.script, env: ["FRONT_BASE": f.base])
            // Which profile served each: from the events (the helper hides the headers).
            let routes = try f.events().compactMap { $0["endpoint"] as? String == "responses" ? $0["profile"] as? String : nil }
            #expect(routes == ["demo-local", "demo-cloud", "demo-local"], "\(routes)")
            return out
        }
        let r = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [String: Any]])
        for name in ["short", "long"] {
            let x = try #require(r[name])
            let text = x["text"] as? String ?? ""
            #expect(!text.isEmpty, "\(name): \(x)")
            // The helper's accumulated snapshot equals the deltas it handed out.
            #expect(x["deltas"] as? String == text, "\(name)")
            #expect(x["status"] as? String == "completed")
            #expect(x["model"] as? String == "local")
            let seqs = x["seqs"] as? [Int] ?? []
            #expect(!seqs.isEmpty && seqs == Array(0..<seqs.count), "\(name): sequence numbers \(seqs)")
            let kinds = x["kinds"] as? [String] ?? []
            #expect(kinds.first == "response.created" && kinds.last == "response.completed", "\(kinds)")
        }
        let plain = try #require(r["plain"])
        #expect(!(plain["text"] as? String ?? "").isEmpty && plain["status"] as? String == "completed", "\(plain)")
    }
}
