import Foundation
import HermesTestSupport
import Testing

/// `hermes-runtime keeper`, the process that owns one server, run directly on a small shell "server":
/// the server writes its log itself, the log rotates under it, and without a daemon the lease ends it.
@Suite(.serialized) struct KeeperCLITests {
    func keeperArguments(state: URL, log: URL, lease: Int = 60, maxBytes: Int = 1 << 20, script: String) -> [String] {
        ["keeper", "--profile", "sh", "--host", "127.0.0.1", "--port", "1", "--state", state.path, "--log", log.path,
         "--log-max-bytes", String(maxBytes), "--log-keep", "2", "--lease", String(lease), "--", "/bin/sh", "-c", script]
    }

    struct Exit: Decodable {
        var status: Int32
        var reason: String
    }

    @Test func withoutADaemonTheLeaseStopsTheServer() async throws {
        let state = try TestEnvironment.temporaryDirectory("keeper")
        let log = state.appendingPathComponent("logs/sh.log")
        let cli = try CLIRunner(configRoot: state)
        let began = Date()
        let r = try await cli.run(keeperArguments(state: state, log: log, lease: 5, script: "echo server-says-hello; exec sleep 300"), timeout: 30)
        let took = Date().timeIntervalSince(began)
        #expect(r.status == 0, "\(r.output)")
        // The lease is 5 s; the rest is starting a debug binary, which a loaded CI box can stretch.
        #expect(took >= 5 && took < 25, "took \(took) s")
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(text.contains("server-says-hello"))
        #expect(text.contains("keeper: no daemon for 5 s (daemon.lease): stopping llama-server"))
        let exit = try JSONDecoder().decode(Exit.self, from: Data(contentsOf: state.appendingPathComponent("servers/sh.exit")))
        #expect(exit.reason.contains("no daemon came back within 5 s"))
        #expect(exit.reason.contains("SIGTERM"))
        let record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: state.appendingPathComponent("servers/sh.json"))) as? [String: Any])
        let pid = try #require(record["pid"] as? Int)
        #expect(!TestEnvironment.isAlive(Int32(pid)))
    }

    @Test func aLockHolderKeepsTheLeaseAlive() async throws {
        let state = try TestEnvironment.temporaryDirectory("keeper")
        let log = state.appendingPathComponent("logs/sh.log")
        // A daemon's lock, held by this test process for the keeper's whole life.
        let fd = open(state.appendingPathComponent("daemon.lock").path, O_CREAT | O_RDWR, 0o600)
        #expect(flock(fd, LOCK_EX) == 0)
        defer { close(fd) }
        let cli = try CLIRunner(configRoot: state)
        let r = try await cli.run(keeperArguments(state: state, log: log, lease: 5, script: "sleep 7; echo done-on-its-own"), timeout: 30)
        #expect(r.status == 0, "\(r.output)")
        let exit = try JSONDecoder().decode(Exit.self, from: Data(contentsOf: state.appendingPathComponent("servers/sh.exit")))
        #expect(exit.reason == "llama-server exited with code 0")
        #expect(try String(contentsOf: log, encoding: .utf8).contains("done-on-its-own"))
    }

    @Test func theLogRotatesUnderAWriterThatKeepsWriting() async throws {
        let state = try TestEnvironment.temporaryDirectory("keeper")
        let log = state.appendingPathComponent("logs/sh.log")
        let cli = try CLIRunner(configRoot: state)
        let script = "seq 1 2000 | sed 's/^/line-/; s/$/-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/'; sleep 2.5; echo after-rotation"
        let r = try await cli.run(keeperArguments(state: state, log: log, maxBytes: 4096, script: script), timeout: 30)
        #expect(r.status == 0, "\(r.output)")
        let current = try Data(contentsOf: log), rotated = try String(contentsOf: URL(fileURLWithPath: log.path + ".1"), encoding: .utf8)
        // Written in one burst, so at most a rotation or two in between: the end of it is in .1.
        #expect(rotated.contains("line-2000-"))
        // Writes went on at the start of the truncated file: no hole of zero bytes.
        #expect(!current.contains(0))
        #expect(String(decoding: current, as: UTF8.self).contains("after-rotation"))
        #expect(current.count < 4096)
    }
}
