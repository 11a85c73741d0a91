import ArgumentParser
import AsyncHTTPClient
import Foundation
import HermesCore
import HermesSupervisor
import NIOCore

/// `hermes-bench speculative`: generation speed with and without n-gram speculative decoding on a
/// code-editing prompt (an agent rewriting a file it was shown), the real llama-server and test model.
/// The servers run side by side and take turns, so each figure has the same machine load as its
/// reference (`none`) in the same run. Each is launched from a profile's `speculative:` section through
/// `LlamaServerCommand.build`, as `start` would.
struct SpeculativeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "speculative",
                                                    abstract: "Tokens/s with and without n-gram speculative decoding.")

    @Option(help: "Requests per kind.") var runs = 5
    @Option(help: "Tokens to generate per request.") var tokens = 256
    @Option(help: "Write results as JSON here.") var output = "bench-results/speculative.json"

    struct Row: Codable {
        var kind: String
        var tokensPerSecond: [Double] = []
        var drafted = 0
        var accepted = 0
        var generated = 0
    }

    static func kinds() -> [(String, SpeculativeSettings?)] {
        var simple = SpeculativeSettings()
        simple.kind = .ngramSimple
        var mod = SpeculativeSettings()
        mod.kind = .ngramMod
        return [("none", nil), ("ngram-simple", simple), ("ngram-mod", mod)]
    }

    /// A file an agent was shown and asked to rewrite with one change: most of the answer repeats it.
    static let prompt: String = {
        var lines = ["import json", "", "", "class Ledger:", "    def __init__(self):", "        self.entries = []", ""]
        for i in 0..<12 {
            lines += ["    def add_\(i)(self, amount, note):", "        if amount < 0:",
                      "            raise ValueError('amount \(i) must not be negative')",
                      "        self.entries.append({'kind': \(i), 'amount': amount, 'note': note})", "        return len(self.entries)", ""]
        }
        lines += ["    def total(self):", "        return sum(e['amount'] for e in self.entries)"]
        return "Here is ledger.py:\n\n```python\n" + lines.joined(separator: "\n")
            + "\n```\n\nRename the method `total` to `sum_all` and output the whole file again, unchanged otherwise."
    }()

    func run() async throws {
        let (env, llama, model) = try TestServer.locate()
        let probeDir = FileManager.default.temporaryDirectory.appendingPathComponent("hermes-bench-spec-\(getpid())")
        let dialect = try DialectProbe(cacheDirectory: probeDir).dialect(of: llama)
        var servers: [(row: Row, port: Int, process: Process)] = []
        defer {
            for s in servers { s.process.terminate() }
            try? FileManager.default.removeItem(at: probeDir)
        }
        for (i, (name, spec)) in Self.kinds().enumerated() {
            var s = LlamaServerSettings()
            s.model = model
            s.port = 18_700 + i
            s.context = 4096
            s.slots = 1
            s.threads = 1
            s.gpuLayers = "0"
            s.speculative = spec
            let command = try LlamaServerCommand.build(profile: name, settings: s, executable: llama, dialect: dialect)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: command.executable)
            p.arguments = command.arguments
            p.environment = command.mergedEnvironment(over: env)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            servers.append((Row(kind: name), s.port!, p))
        }
        for s in servers { try await waitUntilServing(port: s.port) }

        let body = try JSONSerialization.data(withJSONObject: [
            "messages": [["role": "user", "content": Self.prompt]], "max_tokens": tokens, "temperature": 0,
        ])
        for _ in 0..<runs {
            for i in servers.indices {
                var r = HTTPClientRequest(url: "http://127.0.0.1:\(servers[i].port)/v1/chat/completions")
                r.method = .POST
                r.headers.add(name: "content-type", value: "application/json")
                r.body = .bytes(ByteBuffer(bytes: body))
                let resp = try await HTTPClient.shared.execute(r, timeout: .seconds(600))
                let data = try await resp.body.collect(upTo: 16 << 20)
                let json = try JSONSerialization.jsonObject(with: Data(buffer: data)) as? [String: Any]
                let t = json?["timings"] as? [String: Any] ?? [:]
                if let tps = t["predicted_per_second"] as? Double { servers[i].row.tokensPerSecond.append(tps) }
                servers[i].row.generated += t["predicted_n"] as? Int ?? 0
                servers[i].row.drafted += t["draft_n"] as? Int ?? 0
                servers[i].row.accepted += t["draft_n_accepted"] as? Int ?? 0
            }
        }
        let rows = servers.map(\.row)
        let median = { (v: [Double]) -> Double in v.isEmpty ? 0 : v.sorted()[v.count / 2] }
        let reference = median(rows[0].tokensPerSecond)
        print("| speculative | tokens/s median | min | max | vs none | drafted | accepted | tokens | runs |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows {
            let s = r.tokensPerSecond.sorted()
            let acceptance = r.drafted > 0 ? String(format: "%d (%.0f%%)", r.accepted, 100 * Double(r.accepted) / Double(r.drafted)) : "-"
            print(String(format: "| %@ | %.1f | %.1f | %.1f | %.2fx | %d | %@ | %d | %d |", r.kind, median(s), s.first ?? 0, s.last ?? 0,
                         reference > 0 ? median(s) / reference : 0, r.drafted, acceptance, r.generated, s.count))
        }
        let out = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
        try JSONEncoder().encode(rows).write(to: out)
        print("results written to \(out.path)")
    }

    /// Until the server's `/health` answers 200 (a minute at most: the test model loads in seconds).
    func waitUntilServing(port: Int) async throws {
        for _ in 0..<600 {
            let r = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/health"), timeout: .seconds(1))
            if r?.status.code == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("llama-server on port \(port) did not become ready within a minute")
    }
}

/// The llama-server and test model the benchmarks run (scripts/setup.sh puts them in the cache).
enum TestServer {
    static func locate() throws -> (environment: [String: String], llamaServer: String, model: String) {
        let env = ProcessInfo.processInfo.environment
        let llama = try BinaryLocator.resolve(profileBinary: nil, override: nil, environment: env)
        let cache = env["HERMES_RUNTIME_CACHE"] ?? "\(NSHomeDirectory())/.cache/hermes-runtime"
        return (env, llama, "\(cache)/models/gemma-3-270m-q4_k_m.gguf")
    }
}
