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
        let r = try await cli.run(keeperArguments(state: state, log: log, lease: 5, script: "echo server-says-hello; exec sleep 300"), timeout: 150)
        let took = Date().timeIntervalSince(began)
        #expect(r.status == 0, "\(r.output)")
        // The lease is 5 s; the rest is starting a debug binary, which a loaded box can stretch far: the
        // upper bound only tells a keeper that never let go.
        #expect(took >= 5 && took < 120, "took \(took) s")
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
        let r = try await cli.run(keeperArguments(state: state, log: log, lease: 5, script: "sleep 7; echo done-on-its-own"))
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
        let r = try await cli.run(keeperArguments(state: state, log: log, maxBytes: 4096, script: script))
        #expect(r.status == 0, "\(r.output)")
        let current = try Data(contentsOf: log), rotated = try String(contentsOf: URL(fileURLWithPath: log.path + ".1"), encoding: .utf8)
        let now = String(decoding: current, as: UTF8.self)
        // The keeper checks once a second; on a loaded box the burst spans checks, so its end is in .1
        // (rotated after the burst) or in the live file (the last rotation came in the burst's last
        // 4 KiB, which stay below the limit). A rotated file starts with a whole line.
        #expect(rotated.hasPrefix("line-"), "\(rotated.prefix(200))")
        #expect(rotated.contains("line-2000-") || now.contains("line-2000-"))
        // Writes went on at the start of the truncated file: no hole of zero bytes.
        #expect(!current.contains(0))
        #expect(now.hasSuffix("after-rotation\n"))
        // Bounded by the limit (plus the one line written after the last check).
        #expect(current.count <= 4096 + "after-rotation\n".utf8.count, "\(current.count) bytes")
    }
}
