import Foundation
import HermesCore
import HermesFront
import HermesTestSupport
import Synchronization
import Testing

/// A request that reaches an on-demand server just as its idle unload begins (seen under load: the
/// answer was "every profile failed: w:refused"): the front loads the model again and sends the request
/// there once more, and the receipt shows both tries. A server that crashed instead bursts as before.
@Suite struct FrontUnloadRaceTests {
    /// An on-demand profile's server that is stopped the moment its first request reaches it (or, with
    /// `afterwards: .restarting`, is restarting then), and is ready on `up`'s `/ok` once loaded again.
    final class UnloadingRuntime: RuntimeStateProvider {
        let up: FaultUpstream
        let afterwards: LocalRuntimeStatus.Phase
        let loads = Mutex(0)
        init(_ up: FaultUpstream, afterwards: LocalRuntimeStatus.Phase) {
            self.up = up
            self.afterwards = afterwards
        }

        func status(ofProfile name: String) async -> LocalRuntimeStatus? {
            if loads.withLock({ $0 }) > 0 {
                return LocalRuntimeStatus(phase: .ready, baseURL: up.url("ok"), slotsTotal: 2, contextPerSlot: 4096)
            }
            let phase: LocalRuntimeStatus.Phase = up.hitCount("headdie") > 0 ? afterwards : .ready
            return LocalRuntimeStatus(phase: phase, baseURL: up.url("headdie"), slotsTotal: 2, contextPerSlot: 4096)
        }

        func reportFailure(profile: String, httpStatus: Int?, reason: String) async {}

        func ensureLoaded(profile: String, wait: Bool) async -> LoadAnswer {
            loads.withLock { $0 += 1 }
            return await status(ofProfile: profile).map { .ready($0) } ?? .failed("no status")
        }
    }

    func config(_ up: FaultUpstream) throws -> HermesConfig {
        var s = LlamaServerSettings()
        s.port = 1
        s.context = 8192
        s.slots = 2
        s.load = .onDemand
        s.burst = "cloud"
        let local = Profile(name: "w", kind: .llamaServer(s), source: SourceLocation(file: "w.yaml"))
        return try FrontFixture.config([local, FrontFixture.remote("cloud", baseURL: up.url("ok") + "/v1", model: "cloud-model")],
                                       default: "w")
    }

    @Test func aServerUnloadedUnderTheRequestIsLoadedAgainAndAnswers() async throws {
        try await withFaultUpstream { up in
            let runtime = UnloadingRuntime(up, afterwards: .stopped)
            try await withFront(try config(up), runtime: runtime) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(a.status == 200, "\(a.body)")
                #expect(a.header("X-Hermes-Route") == "w")
                #expect(a.header("X-Hermes-Attempts") == "w:reset,w:200")
                #expect(runtime.loads.withLock { $0 } == 1)
                #expect(up.hitCount("headdie") == 1 && up.hitCount("ok") == 1, "the cloud was never asked")
            }
        }
    }

    @Test func aServerThatCrashedInsteadBurstsWithoutAReload() async throws {
        try await withFaultUpstream { up in
            let runtime = UnloadingRuntime(up, afterwards: .restarting)
            try await withFront(try config(up), runtime: runtime) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(a.status == 200, "\(a.body)")
                #expect(a.header("X-Hermes-Route") == "cloud")
                #expect(a.header("X-Hermes-Attempts") == "w:reset,cloud:200")
                #expect(runtime.loads.withLock { $0 } == 0)
            }
        }
    }
}
