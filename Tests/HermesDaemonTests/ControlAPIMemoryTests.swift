import Foundation
import HermesCore
import HermesSupervisor
import HermesTestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import HermesDaemon

/// The daemon assembled in memory (`Daemon.Parts.assemble`: no lock, no socket, no process adopted or
/// started) and its control API driven through Hummingbird's in-memory router client. What needs a
/// real llama-server or a real socket stays in HermesCLITests.
@Suite struct ControlAPIMemoryTests {
    struct Setup {
        let root: URL
        let paths: RuntimePaths
        let parts: Daemon.Parts
    }

    func assemble(profiles: [String: String]? = nil) async throws -> Setup {
        let root = try TestEnvironment.configRoot(profiles: profiles ?? [
            "demo": try TestEnvironment.demoProfile(port: TestEnvironment.freePort()),
            "other": try TestEnvironment.demoProfile(port: TestEnvironment.freePort()),
        ])
        let paths = RuntimePaths(configRoot: root, stateDirectory: root.appendingPathComponent("state"))
        let config = try ConfigLoader.load(paths: paths)
        let parts = await Daemon.Parts.assemble(config: config, paths: paths, options: .init(), logger: Logger(label: "test"))
        return Setup(root: root, paths: paths, parts: parts)
    }

    func control(_ s: Setup, checkingPeers: Bool = false) -> some ApplicationProtocol {
        Application(router: ControlAPI.router(registry: s.parts.registry, daemon: s.parts.info, checkingPeers: checkingPeers))
    }

    func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer) throws -> T {
        try ControlCodec.decoder.decode(T.self, from: Data(body.readableBytesView))
    }

    @Test func assemblingTouchesNothingOutside() async throws {
        let s = try await assemble()
        defer { try? FileManager.default.removeItem(at: s.root) }
        // No control socket, no lock: a second daemon's parts can be assembled on the same root.
        #expect(!FileManager.default.fileExists(atPath: s.paths.controlSocket.path))
        let again = await Daemon.Parts.assemble(config: s.parts.config, paths: s.paths, options: .init(), logger: Logger(label: "test"))
        #expect(await again.registry.statuses().allSatisfy { $0.phase == .stopped })
        #expect(await s.parts.registry.statuses().map(\.profile).sorted() == ["demo", "other"])
    }

    @Test func statusAndProfilesAnswerAsTheCLIReadsThem() async throws {
        let s = try await assemble()
        defer { try? FileManager.default.removeItem(at: s.root) }
        try await control(s).test(.router) { client in
            try await client.execute(uri: "/v1/status", method: .get) { r in
                #expect(r.status == .ok)
                let status = try decode(DaemonStatus.self, r.body)
                #expect(status.pid == getpid())
                #expect(status.configRoot == s.root.path)
                #expect(status.servers.map(\.profile).sorted() == ["demo", "other"])
                #expect(status.servers.allSatisfy { $0.phase == .stopped })
                #expect(status.front == s.parts.info.front.url && status.front?.hasPrefix("http://127.0.0.1:") == true)
                #expect(status.guardPid == nil && status.stopping == false)
            }
            try await client.execute(uri: "/v1/profiles/demo", method: .get) { r in
                #expect(r.status == .ok)
                let answer = try decode(ServerStatus.self, r.body)
                #expect(answer.phase == .stopped)
            }
            try await client.execute(uri: "/v1/profiles/nope", method: .get) { r in
                #expect(r.status == .notFound)
                let answer = try decode(ControlError.self, r.body)
                #expect(answer.message == "no local profile 'nope'" && answer.code == "unknown_profile")
            }
        }
    }

    @Test func verbsOnWhatIsNotThereAreJSONErrorsThatStartNothing() async throws {
        let nomodel = try TestEnvironment.demoProfile(port: TestEnvironment.freePort())
            .replacingOccurrences(of: try TestEnvironment.testModel(), with: "/nonexistent/none.gguf")
        let s = try await assemble(profiles: [
            "demo": try TestEnvironment.demoProfile(port: TestEnvironment.freePort()), "nomodel": nomodel,
        ])
        defer { try? FileManager.default.removeItem(at: s.root) }
        try await control(s).test(.router) { client in
            try await client.execute(uri: "/v1/profiles/nope/start", method: .post) { r in
                #expect(r.status == .notFound)
                let answer = try decode(ControlError.self, r.body)
                #expect(answer.message.contains("nope") && answer.code == "unknown_profile")
            }
            try await client.execute(uri: "/v1/profiles/dmo/start", method: .post) { r in
                let answer = try decode(ControlError.self, r.body)
                #expect(answer.code == "unknown_profile" && answer.hint == "did you mean 'demo'?", "\(answer)")
            }
            // A start that fails before any process exists: the one shape, with its hint, as a 409.
            try await client.execute(uri: "/v1/profiles/nomodel/start", method: .post) { r in
                #expect(r.status == .conflict)
                let answer = try decode(ControlError.self, r.body)
                #expect(answer.code == "start_failed" && answer.message.contains("does not exist") && answer.hint?.contains("model:") == true,
                        "\(answer)")
                #expect(answer.rendered.hasPrefix("nomodel: model file /nonexistent/none.gguf does not exist\nhint: fix `model:`"))
            }
            try await client.execute(uri: "/v1/profiles/demo/stop", method: .post) { r in
                #expect(r.status == .notFound)
                let answer = try decode(ControlError.self, r.body)
                #expect(answer.message == "profile 'demo' is not running" && answer.code == "not_running")
            }
            // Without its guard nothing would start the next daemon: refused with the way out.
            try await client.execute(uri: "/v1/restart", method: .post) { r in
                #expect(r.status == .conflict)
                let e = try decode(ControlError.self, r.body)
                #expect(e.hint?.contains("hermes-runtime serve") == true && e.code == "no_guard", "\(e)")
            }
        }
        // Nothing was spawned; the refused start shows as failed, with its reason, until the next start.
        let statuses = await s.parts.registry.statuses()
        #expect(statuses.allSatisfy { $0.pid == nil }, "\(statuses)")
        #expect(statuses.first { $0.profile == "demo" }?.phase == .stopped)
        #expect(statuses.first { $0.profile == "nomodel" }.map { $0.phase == .failed && $0.lastError?.contains("does not exist") == true } == true)
    }

    @Test func reloadRefusesABrokenConfigNamingFileAndLineThenTakesAGoodOne() async throws {
        let s = try await assemble()
        defer { try? FileManager.default.removeItem(at: s.root) }
        let file = s.root.appendingPathComponent("runtimes/other.yaml")
        let good = try String(contentsOf: file, encoding: .utf8)
        try (good + "\nslots: lots\n").write(to: file, atomically: true, encoding: .utf8)
        try await control(s).test(.router) { client in
            try await client.execute(uri: "/v1/reload", method: .post) { r in
                #expect(r.status == .unprocessableContent)
                let result = try decode(ReloadResult.self, r.body)
                #expect(!result.reloaded)
                #expect(result.diagnostics.contains { $0.contains("other.yaml:") && $0.contains("slots") }, "\(result.diagnostics)")
            }
            #expect(await s.parts.registry.config.profileNames.sorted() == ["demo", "other"])
            try FileManager.default.removeItem(at: file)
            try await client.execute(uri: "/v1/reload", method: .post) { r in
                #expect(r.status == .ok)
                let answer = try decode(ReloadResult.self, r.body)
                #expect(answer.reloaded)
            }
        }
        #expect(await s.parts.registry.config.profileNames == ["demo"])
    }

    @Test func aPeerTheCheckCannotReadIsRefused() async throws {
        // In memory there is no socket and so no SO_PEERCRED: the check fails closed, as it would for
        // a connection it could not identify.
        let s = try await assemble()
        defer { try? FileManager.default.removeItem(at: s.root) }
        try await control(s, checkingPeers: true).test(.router) { client in
            for (uri, method) in [("/v1/status", HTTPRequest.Method.get), ("/v1/shutdown", .post), ("/v1/profiles/demo/start", .post)] {
                try await client.execute(uri: uri, method: method) { r in
                    #expect(r.status == .forbidden)
                    let answer = try decode(ControlError.self, r.body)
                    #expect(answer.message.contains("may use this daemon's control socket") && answer.code == "forbidden")
                }
            }
        }
        #expect(await s.parts.registry.statuses().allSatisfy { $0.phase == .stopped })
    }
}

/// The control API's error body: the one shape, read from a daemon of this version or an older one.
@Suite struct ControlErrorShapeTests {
    @Test func aStartFailureTravelsWithItsLogLinesAndReadsBack() throws {
        let f = StartFailure(profile: "p", reason: "the server exited (status 1)", lastLogLines: ["a", "b"], hint: "see the log")
        let e = ControlError(f)
        #expect(e.code == "start_failed" && e.lastLogLines == ["a", "b"])
        let back = try ControlCodec.decoder.decode(ControlError.self, from: ControlCodec.encoder.encode(e))
        #expect(back.rendered == f.rendered)
        #expect(back.rendered == "p: the server exited (status 1)\ncause: last log lines:\n  a\n  b\nhint: see the log")
    }

    @Test func anOlderDaemonsAnswerStillReads() throws {
        let old = Data(#"{"message":"p: it died","hint":"h","last_log_lines":["x"]}"#.utf8)
        let e = try ControlCodec.decoder.decode(ControlError.self, from: old)
        #expect(e.code == "daemon_error" && e.cause == "last log lines:\nx")
        #expect(e.rendered == "p: it died\ncause: last log lines:\n  x\nhint: h")
    }
}
