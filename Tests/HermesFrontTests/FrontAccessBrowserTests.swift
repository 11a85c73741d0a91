import Foundation
import HTTPTypes
import HermesCore
import HermesFront
import HermesTestSupport
import Hummingbird
import Testing

/// A real headless chromium (scripts/browse.py): a page served from another port cannot get a
/// completion from the front, whatever kind of request it makes; the status page, served by the front
/// itself, still can.
@Suite(.serialized, .realProcesses) struct FrontAccessBrowserTests {
    static let runner = #"""
    import os, subprocess, sys
    r = subprocess.run(["/usr/bin/python3", os.environ["BROWSE"], os.environ["STEPS"]], capture_output=True, text=True, timeout=240)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    """#

    @Test func aPageFromAnotherPortCannotGetACompletion() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") else {
            throw TestFailure("chromium is missing: run scripts/setup-system.sh (apt-get install chromium)")
        }
        let page = RunningTestApp()
        let router = Router()
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html><body>a page</body></html>")))
        }
        await page.run(router, logger: FaultUpstream.quiet)
        defer { Task { await page.stop() } }
        try await withFaultUpstream { up in
            let config = try FrontFixture.config([FrontFixture.remote("cloud", baseURL: up.url("ok") + "/v1")], default: "cloud")
            try await withFront(config, runtime: MutableRuntimeState([:])) { f in
                let body = #"JSON.stringify({model: 'm', messages: [{role: 'user', content: 'work for me'}], max_tokens: 4})"#
                let url = "'\(f.base)/v1/chat/completions'"
                let steps: [[String: Any]] = [
                    ["navigate": "http://127.0.0.1:\(page.port)/"],
                    ["wait": "document.body && document.body.innerText.includes('a page')", "timeout": Int(TestEnvironment.hangBound)],
                    // A "simple" request: no preflight, the answer unreadable, but it would still run.
                    ["eval": "fetch(\(url), {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, body: \(body)}).then(r => 'sent:' + r.type, e => 'error:' + e.name)"],
                    ["eval": "fetch(\(url), {method: 'POST', headers: {'Content-Type': 'text/plain'}, body: \(body)}).then(r => r.text(), e => 'blocked:' + e.name)"],
                    ["eval": "fetch(\(url), {method: 'POST', headers: {'Content-Type': 'application/json'}, body: \(body)}).then(r => r.text(), e => 'blocked:' + e.name)"],
                    // The status page is the front's own origin: its requests are served.
                    ["navigate": f.base + "/"],
                    ["eval": "fetch('/v1/chat/completions', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: \(body)}).then(r => r.status)"],
                ]
                let dir = try TestEnvironment.temporaryDirectory("browse")
                let stepsFile = dir.appendingPathComponent("steps.json")
                try JSONSerialization.data(withJSONObject: steps).write(to: stepsFile)
                let browse = TestEnvironment.repositoryRoot.appendingPathComponent("scripts/browse.py").path
                let out = try await runPython(Self.runner, env: ["BROWSE": browse, "STEPS": stepsFile.path], timeout: 300)
                let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "\(out)")
                #expect(json["ok"] as? Bool == true, "\(json)")
                let results = (json["results"] as? [[String: Any]] ?? []).map { $0["value"] }
                try #require(results.count == steps.count, "\(json)")
                #expect(results[2] as? String == "sent:opaque")
                #expect(results[3] as? String == "blocked:TypeError")
                #expect(results[4] as? String == "blocked:TypeError")
                #expect(results[6] as? Int == 200, "the status page's own requests are served")
                #expect(up.hitCount("ok") == 1, "only the status page's request reached the upstream")
                let refused = try f.events().filter { $0["status"] as? Int == 403 }
                #expect(refused.count >= 2, "the page's POSTs (and its preflight) were refused: \(refused)")
            }
        }
    }
}
