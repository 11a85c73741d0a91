import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HermesTestSupport
import Testing

/// Runs a helper program to the end on a thread of its own (Swift Testing has two threads here).
func runTool(_ executable: String, _ arguments: [String], input: String? = nil, environment: [String: String]? = nil,
             timeout: Double = 240) async throws -> (status: Int32, stdout: String, stderr: String) {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: executable)
                p.arguments = arguments
                if let environment { p.environment = environment }
                let out = Pipe(), err = Pipe(), inp = Pipe()
                p.standardOutput = out
                p.standardError = err
                p.standardInput = inp
                try p.run()
                if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
                try? inp.fileHandleForWriting.close()
                nonisolated(unsafe) var outData = Data(), errData = Data()
                let group = DispatchGroup()
                group.enter()
                Thread.detachNewThread { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
                group.enter()
                Thread.detachNewThread { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
                let deadline = Date().addingTimeInterval(timeout)
                while p.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
                if p.isRunning { p.terminate() }
                p.waitUntilExit()
                group.wait()
                continuation.resume(returning: (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self)))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

/// The status page in a real headless chromium against the real daemon, the servers' Prometheus
/// families through a real Prometheus text parser, and events that cannot be written.
@Suite(.serialized, .realProcesses) struct StatusPageCLITests {
    static let key = "page-key-3141"
    static var python: String { TestEnvironment.cacheDirectory.appendingPathComponent("venv/bin/python").path }
    static var browse: String { TestEnvironment.repositoryRoot.appendingPathComponent("scripts/browse.py").path }

    static func requireChromium() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") else {
            throw CLIRunnerFailure("chromium is missing: run scripts/setup-system.sh (apt-get install chromium)")
        }
    }

    /// A free port below Linux's ephemeral range (32768 and up): the outgoing connections of tests running
    /// beside this one never take it while spare's port waits for its button.
    static func quietPort() -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20000..<32000)
            if let (fd, _) = LoopbackSocket.bound(port: port) {
                close(fd)
                return port
            }
        }
        return TestEnvironment.freePort()
    }

    /// `scripts/browse.py` over `steps`; its JSON answer.
    static func browse(_ steps: [[String: Any]]) async throws -> [String: Any] {
        let input = String(decoding: try JSONSerialization.data(withJSONObject: steps), as: UTF8.self)
        let r = try await runTool("/usr/bin/python3", [browse, "-"], input: input, timeout: 900)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return try #require(json, "browse.py said: \(r.stdout) \(r.stderr)")
    }

    /// demo (started from the CLI) and spare (started from the page), and cloud: spare's server seen
    /// as a remote, where demo bursts what does not fit its 1024-token slots.
    func root(demoPort: Int, sparePort: Int, frontPort: Int) throws -> URL {
        try TestEnvironment.configRoot(
            profiles: [
                "demo": try TestEnvironment.demoProfile(port: demoPort, context: 2048, slots: 2, extra: "burst: cloud"),
                "spare": try TestEnvironment.demoProfile(port: sparePort, context: 4096, slots: 1),
                "cloud": "kind: openai\nbase_url: http://127.0.0.1:\(sparePort)/v1\nmodel: spare\ncontext: 4096\n",
            ],
            runtime: "front:\n  listen: 127.0.0.1:\(frontPort)\n  api_key_env: HERMES_TEST_FRONT_KEY\n  default: demo\n")
    }

    @Test func thePageRendersUpdatesLiveAndItsButtonsWorkWithTheKey() async throws {
        try Self.requireChromium()
        let (demoPort, sparePort, frontPort) = (Self.quietPort(), Self.quietPort(), Self.quietPort())
        let root = try root(demoPort: demoPort, sparePort: sparePort, frontPort: frontPort)
        // A simulated gfx1151 (512 MiB carve-out, 96 GiB GTT) so the GPU section has pools to draw.
        let tree = try TestEnvironment.temporaryDirectory("sysfs")
        let sim = try await runTool(TestEnvironment.repositoryRoot.appendingPathComponent("scripts/gpu/simulate-gfx1151.sh").path,
                                    ["--tree-only", tree.path])
        #expect(sim.status == 0, "\(sim.stderr)")
        var cli = try CLIRunner(configRoot: root)
        cli.environment["HERMES_TEST_FRONT_KEY"] = Self.key
        cli.environment["HERMES_RUNTIME_SYSFS_ROOT"] = tree.path
        defer { cli.shutDown() }
        let started = try await cli.run(["start", "demo"])
        #expect(started.status == 0, "\(started.output)")

        let front = "http://127.0.0.1:\(frontPort)"
        let row = { (p: String) in "document.querySelector('tr.server[data-profile=\"\(p)\"]')" }
        let chat = { (prompt: String) in
            "fetch('/v1/chat/completions', {method: 'POST', headers: {'Content-Type': 'application/json', 'Authorization': 'Bearer \(Self.key)'}, body: JSON.stringify({messages: [{role: 'user', content: \(prompt)}], max_tokens: 4})}).then(r => r.status)"
        }
        let shotDirectory = try TestEnvironment.temporaryDirectory("shot")
        let screenshot = ProcessInfo.processInfo.environment["HERMES_STATUS_PAGE_SCREENSHOT"]
            ?? shotDirectory.appendingPathComponent("status-page.png").path
        let steps: [[String: Any]] = [
            ["navigate": front + "/"],
            // The front has a key: the page asks for it before it shows anything.
            ["wait": "!document.getElementById('keyform').hidden", "timeout": Int(TestEnvironment.hangBound)],
            ["eval": "document.getElementById('key').value = '\(Self.key)'; document.querySelector('#keyform button').click(); true"],
            ["wait": "\(row("demo"))?.dataset.phase === 'ready' && \(row("spare"))?.dataset.phase === 'stopped'", "timeout": Int(TestEnvironment.hangBound)],
            ["eval": "Number(document.body.dataset.updates)"],
            // The button starts spare; the page, polling, shows it starting and then ready.
            ["eval": "\(row("spare")).querySelector('button[data-action=start]').click(); true"],
            ["wait": "\(row("spare"))?.dataset.phase === 'ready'", "timeout": Int(TestEnvironment.hangBound)],
            ["eval": "Number(document.body.dataset.updates)"],
            // A click on a server shows its log.
            ["eval": "\(row("demo")).click(); true"],
            ["wait": "document.getElementById('log').textContent.includes('llama')", "timeout": Int(TestEnvironment.hangBound)],
            // One request stays local, one is too long for a 1024-token slot and bursts to cloud. The
            // burst one prefills ~1,200 tokens on a CPU server: seconds when quiet, minutes on a loaded
            // box; the limit only bounds a hang.
            ["eval": chat("'Say hi, secret-word-okapi'"), "timeout": 300],
            ["eval": chat("'Summarise, secret-word-okapi: ' + 'the local box keeps private work cheap. '.repeat(150)"), "timeout": 300],
            ["wait": "document.querySelectorAll('#decisions tbody tr').length >= 2 && document.querySelector('.tally[data-reason=context]') !== null", "timeout": Int(TestEnvironment.hangBound)],
            ["wait": "document.querySelectorAll('#gpu .pool').length >= 2 && document.querySelector('#chart polyline') !== null", "timeout": Int(TestEnvironment.hangBound)],
            ["screenshot": screenshot],
            ["eval": """
                JSON.stringify({
                  decisions: [...document.querySelectorAll('#decisions tbody tr')].map(r => [r.dataset.profile, r.dataset.reason]),
                  burst: document.querySelector('.tally[data-reason=context]').textContent,
                  pools: [...document.querySelectorAll('#gpu .pool')].map(p => p.dataset.pool + ' ' + p.innerText),
                  log: document.getElementById('log').textContent.length,
                  text: document.body.innerText })
                """],
            // Stop from the page too.
            ["eval": "\(row("spare")).querySelector('button[data-action=stop]').click(); true"],
            ["wait": "\(row("spare"))?.dataset.phase === 'stopped'", "timeout": Int(TestEnvironment.hangBound)],
        ]
        let out = try await Self.browse(steps)
        #expect(out["ok"] as? Bool == true, "\(out["error"] ?? out)")
        let results = try #require(out["results"] as? [[String: Any]])
        try #require(results.count == steps.count, "\(out)")
        let before = results[4]["value"] as? Int ?? 0, after = results[7]["value"] as? Int ?? 0
        #expect(after > before, "the page kept polling while spare started (\(before) -> \(after) updates)")
        #expect(results[10]["value"] as? Int == 200)
        #expect(results[11]["value"] as? Int == 200)
        let facts = try #require(try JSONSerialization.jsonObject(with: Data((results[15]["value"] as? String ?? "").utf8)) as? [String: Any])
        let decisions = facts["decisions"] as? [[String]] ?? []
        #expect(decisions.first == ["cloud", "context"], "newest first: \(decisions)")
        #expect(decisions.dropFirst().first == ["demo", "default"], "\(decisions)")
        #expect((facts["burst"] as? String)?.hasPrefix("1") == true)
        let pools = facts["pools"] as? [String] ?? []
        #expect(pools.contains { $0.hasPrefix("gtt") && $0.contains("96.0 GiB") }, "\(pools)")
        #expect((facts["log"] as? Int ?? 0) > 100)
        #expect(!(facts["text"] as? String ?? "").contains("okapi"), "no prompt text on the page")
        #expect(FileManager.default.fileExists(atPath: screenshot))
    }

    @Test func serverFamiliesParseAsPrometheusTextAndLostEventsAreCounted() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw CLIRunnerFailure("the tools venv is missing at \(Self.python): run scripts/setup-python-tools.sh")
        }
        let (demoPort, frontPort) = (TestEnvironment.freePort(), TestEnvironment.freePort())
        let root = try TestEnvironment.configRoot(
            profiles: ["demo": try TestEnvironment.demoProfile(port: demoPort, context: 2048, slots: 2)],
            runtime: "front:\n  listen: 127.0.0.1:\(frontPort)\n  default: demo\n")
        let cli = try CLIRunner(configRoot: root)
        // The events file is /dev/full: every write fails with ENOSPC, as on a full disk.
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: cli.stateDirectory.appendingPathComponent("events.jsonl").path,
                                                   withDestinationPath: "/dev/full")
        defer { cli.shutDown() }
        #expect(try await cli.run(["start", "demo"]).status == 0)
        let front = "http://127.0.0.1:\(frontPort)"
        for _ in 0..<2 {
            let r = await HTTPExchange.send("POST", front + "/v1/chat/completions",
                                            body: #"{"messages":[{"role":"user","content":"Count to five."}],"max_tokens":8}"#)
            #expect(r.status == 200, "a request never fails for its event: \(r.body)")
        }
        let data = Data(await HTTPExchange.send("GET", front + "/metrics").body.utf8)
        // prometheus_client's own parser: the text must be valid exposition format, every family.
        let parse = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(sys.stdin.read()):
                for s in family.samples:
                    labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                    out[f"{s.name}{{{labels}}}"] = s.value
            print(json.dumps(out))
            """
        let r = try await runTool(Self.python, ["-c", parse], input: String(decoding: data, as: UTF8.self))
        #expect(r.status == 0, "\(r.stderr)")
        let samples = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Double], "\(r.stdout)")
        #expect(samples["hermes_server_up{profile=demo}"] == 1)
        #expect(samples["hermes_server_phase{phase=ready,profile=demo}"] == 1)
        #expect(samples["hermes_server_phase{phase=stopped,profile=demo}"] == 0)
        #expect(samples["hermes_server_slots_total{profile=demo}"] == 2)
        #expect(samples["hermes_server_context_per_slot{profile=demo}"] == 1024)
        #expect(samples["hermes_server_restarts_total{profile=demo}"] == 0)
        #expect((samples["hermes_server_load_seconds{profile=demo}"] ?? 0) > 0)
        #expect((samples["hermes_server_resident_bytes{profile=demo}"] ?? 0) > Double(1 << 20))
        #expect((samples["hermes_server_generated_tokens_total{profile=demo}"] ?? 0) >= 2, "llama-server's own count, via --metrics")
        #expect((samples["hermes_server_prompt_tokens_total{profile=demo}"] ?? 0) > 0)
        #expect(samples["hermes_server_requests_processing{profile=demo}"] == 0)
        #expect(samples["hermes_events_dropped_total{log=events}"] == 2)
        #expect(samples["hermes_front_requests_total{profile=demo,reason=default,status=200}"] == 2)
        // Said once in the daemon log, not once per lost line.
        let log = try String(contentsOf: cli.stateDirectory.appendingPathComponent("logs/daemon.log"), encoding: .utf8)
        #expect(log.components(separatedBy: "routing events cannot be written").count - 1 == 1, "\(log)")
    }
}

struct CLIRunnerFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
