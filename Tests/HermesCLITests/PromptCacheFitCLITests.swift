import Foundation
import HermesCore
import HermesTestSupport
import Testing

/// llama-server's prompt cache in RAM (`cache_ram`) counted by the daemon: on a simulated APU whose GTT
/// holds the model with 2 GiB to spare, a profile with `cache_ram: 4096` is refused by `start` and by
/// on-demand admission with the numbers; the same model with `cache_ram: 0` loads and answers.
@Suite(.serialized, .realProcesses) struct PromptCacheFitCLITests {
    @Test func aProfileWhoseCacheRAMDoesNotFitIsRefusedAndCacheRAM0Fits() async throws {
        let model = try OnDemandCLITests.need(cacheRAM: 0)
        let withCache = try OnDemandCLITests.need(cacheRAM: 4096)
        #expect(withCache == model + 4 * MemoryEstimate.GiB)
        let d = try await OnDemandCLITests.Daemon(profiles: [
            "c": try OnDemandCLITests.profile(port: TestEnvironment.freePort(), cacheRAM: 4096),
            "z": try OnDemandCLITests.profile(port: TestEnvironment.freePort(), cacheRAM: 0),
        ], gtt: model + 2 * MemoryEstimate.GiB, defaultProfile: "c")
        defer { d.stop() }

        // `start`: the pre-flight check names the cache as its own item and the cache_ram that would fit.
        let started = try await d.cli.run(["start", "c"])
        #expect(started.status != 0, "\(started.output)")
        #expect(started.output.contains("the model does not fit: needs \(ByteCount.format(withCache))"), "\(started.output)")
        #expect(started.output.contains(" + prompt cache in RAM up to 4.0 GiB (cache_ram 4096)), GTT"), "\(started.output)")
        #expect(started.output.contains("set cache_ram to at most 2048 (MiB) or 0"), "\(started.output)")
        #expect(try await d.phase("c") != "ready")

        // On demand: admission refuses the load with the same numbers (503: no burst profile).
        let refused = await OnDemandCLITests.http("POST", d.front + "/v1/chat/completions", body: OnDemandCLITests.chat("c"))
        #expect(refused.status == 503, "\(refused.body)")
        #expect(refused.body.contains("no_memory") && refused.body.contains("needs \(ByteCount.format(withCache)) of GTT"), "\(refused.body)")
        #expect(refused.body.contains("prompt cache in RAM up to 4.0 GiB (cache_ram 4096)"), "\(refused.body)")

        // cache_ram: 0: the same model fits and answers.
        let served = await OnDemandCLITests.http("POST", d.front + "/v1/chat/completions", body: OnDemandCLITests.chat("z"))
        #expect(served.status == 200, "\(served.body)")
        #expect(served.headers["x-hermes-route"] == "z")
        #expect(d.events().contains(#""event":"load","profile":"z""#), "\(d.events())")
    }
}
