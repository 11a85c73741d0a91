import ArgumentParser
import Crypto
import Foundation
import HermesCore

/// `hermes-bench front --decisions`: the request path's pure parts, each beside what it was chosen over:
/// the front's scanner (`RequestDecoder`) vs swift-foundation's `JSONDecoder` vs `JSONSerialization`;
/// the byte splice (`BodySplice`) vs re-serializing; swift-crypto's SHA-256 vs the hand-written one.
extension FrontBench {
    func timeDecisions() throws {
        let root = URL(fileURLWithPath: config ?? FileManager.default.currentDirectoryPath)
        let paths = RuntimePaths(configRoot: root, stateDirectory: root.appendingPathComponent("state"))
        let loaded = try ConfigLoader.load(paths: paths)
        let policy = RoutingPolicy(config: loaded)
        let statuses = loaded.profiles.values.filter(\.isLocal).reduce(into: [String: LocalRuntimeStatus]()) {
            $0[$1.name] = LocalRuntimeStatus(phase: .ready, baseURL: "http://127.0.0.1:1", slotsTotal: 4, contextPerSlot: 2048, slotsBusy: 0)
        }
        let snapshot = RuntimeSnapshot(statuses: statuses)

        func body(_ prompt: String) -> [UInt8] {
            let object: [String: Any] = [
                "model": "gemma", "stream": true, "max_tokens": 65536, "stream_options": ["include_usage": true],
                "messages": [["role": "system", "content": "You are a coding agent."], ["role": "user", "content": prompt]],
            ]
            return [UInt8](try! JSONSerialization.data(withJSONObject: object))
        }
        let words = "the quick brown fox jumps over the lazy dog while the compiler checks every line "
        var cases: [(String, [UInt8])] = [
            ("ordinary", body("Rename the variable `count` to `total` in Sources/App/main.swift and run the tests.")),
            ("100K characters", body(String(String(repeating: words, count: 100_000 / words.count + 1).prefix(100_000)))),
        ]
        for path in bodies {
            guard let d = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            cases.append(("\(URL(fileURLWithPath: path).lastPathComponent) (\(d.count / 1024) KB)", [UInt8](d)))
        }
        let headers = ["x-hermes-platform": "cli"]

        print("| measurement | body | mean | note |")
        print("|---|---|---|---|")
        for (label, bytes) in cases {
            let n = max(50, iterations * 200 / max(200, bytes.count / 50))
            let data = Data(bytes)
            func row(_ what: String, _ note: String = "", _ work: () throws -> Void) rethrows {
                for _ in 0..<max(3, n / 20) { try work() }   // warm up
                let t0 = ContinuousClock.now
                for _ in 0..<n { try work() }
                print("| \(what) | \(label) | \(Self.format((ContinuousClock.now - t0) / n)) | \(note) |")
            }
            let decoded = try RequestDecoder.decode(.chatCompletions, body: bytes)
            let ctx = RouteContext(request: decoded, headers: headers)
            try row("decode: RequestDecoder (scanner)", "\(ctx.promptText.utf8.count) prompt bytes") {
                _ = try RequestDecoder.decode(.chatCompletions, body: bytes)
            }
            try row("decode: JSONDecoder (swift-foundation)") { _ = try ChatShape.text(JSONDecoder().decode(ChatShape.self, from: data)) }
            try row("decode: JSONSerialization (before)") { _ = try JSONSerialization.jsonObject(with: data) }
            var last: RouteDecision?
            try row("decide (context built)") { last = try policy.decide(ctx, snapshot: snapshot, explain: false) }
            // As the front builds it: the prompt's String only when a route matches on it.
            try row("decode + context + decide", "\(last?.target ?? "-") (\(last?.reason ?? "-"))") {
                let c = RouteContext(request: try RequestDecoder.decode(.chatCompletions, body: bytes), headers: headers,
                                     promptText: policy.readsPromptText)
                last = try policy.decide(c, snapshot: snapshot, explain: false)
            }
            row("prompt String (built only for prompt_matches routes)") { _ = decoded.promptText }
            let edits = BodySplice.edits(for: decoded, model: "gpt-4.1-mini", clampTokens: 1024)
            row("edit model + max_tokens: BodySplice") { _ = BodySplice.apply(edits, to: bytes) }
            let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
            try row("edit model + max_tokens: re-serialize (before)") {
                var o = parsed
                o["model"] = "gpt-4.1-mini"
                o["max_tokens"] = 1024
                _ = try JSONSerialization.data(withJSONObject: o)
            }
            let offered = RequestDecoder.toolNames(in: bytes, spans: decoded.toolSpans)
            if !offered.isEmpty {
                row("tool names: the scanner over the tools only", "\(offered.count) tools") {
                    _ = RequestDecoder.toolNames(in: bytes, spans: decoded.toolSpans)
                }
                row("tool names: a second JSONDecoder pass (before)") {
                    _ = try? JSONDecoder().decode(ToolNamesShape.self, from: data)
                }
            }
            // A whole JSON answer as large as this body, its `model` spliced: before, three copies of it
            // (to an array, the spliced array, back to a buffer); now the spans are found and the answer
            // goes out as slices around the new value.
            let answer = [UInt8](#"{"id":"x","object":"chat.completion","model":"gemma-3-270m","choices":[{"index":0,"message":{"role":"assistant","content":"#.utf8)
                + BodySplice.jsonString(utf8: decoded.promptUTF8) + [UInt8](#"}}]}"#.utf8)
            row("answer model splice: spans, sent as slices", "\(answer.count / 1024) KB answer") {
                _ = answer.withUnsafeBufferPointer { ModelFieldSplice.spans(in: $0) }
            }
            row("answer model splice: three copies (before)") {
                let copy = Array(answer)
                _ = Array(ModelFieldSplice.replacing(in: copy, with: "gemma"))
            }
            let prompt = ctx.promptText
            row("prompt SHA-256: swift-crypto") { _ = PromptDigestBench.crypto(prompt) }
            row("prompt SHA-256: hand-written (before)") { _ = HandSHA256.hex(prompt) }
        }
    }

    static func format(_ d: Duration) -> String {
        let ns = Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9
        return ns < 1000 ? String(format: "%.0f ns", ns) : String(format: "%.2f us", ns / 1000)
    }
}

/// The same digest the front computes (PromptDigest is in HermesFront; this keeps the bench's row
/// independent of how the front formats it).
enum PromptDigestBench {
    static func crypto(_ text: String) -> SHA256.Digest {
        var text = text
        return text.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
    }
}

/// What the front reads, as a `Decodable` for swift-foundation's `JSONDecoder`: the fairest rival to
/// the scanner (unknown keys are passed over, tools only counted).
struct ChatShape: Decodable {
    var model: String?
    var messages: [Message]
    var tools: [Skip]?
    var max_tokens: Int?
    var max_completion_tokens: Int?
    var n_predict: Int?
    var stream: Bool?
    var metadata: Meta?

    struct Message: Decodable {
        var role: String
        var content: Content?
    }

    enum Content: Decodable {
        case text(String)
        case parts([Part])

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .text(s) } else { self = .parts(try c.decode([Part].self)) }
        }
    }

    struct Part: Decodable {
        var type: String?
        var text: String?
    }

    struct Skip: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    struct Meta: Decodable {
        var platform: String?
        var source_kind: String?
        var goal: String?
    }

    /// The prompt text, built as the front builds it.
    static func text(_ shape: ChatShape) -> String {
        var out = ""
        for m in shape.messages {
            if !out.isEmpty { out.append("\n") }
            switch m.content {
            case .text(let s): out.append(s)
            case .parts(let parts): out.append(parts.compactMap(\.text).joined(separator: "\n"))
            case nil: break
            }
        }
        return out
    }
}

/// The tool names as `ToolCallCheck` read them before the decoder took them on its pass: the rival row.
struct ToolNamesShape: Decodable {
    struct Tool: Decodable {
        struct Function: Decodable { var name: String? }
        var name: String?
        var function: Function?
    }
    var tools: [Tool]?
    var functions: [Tool]?
}
