import Foundation
import HermesCore
import Testing

/// A main split over RPC workers: the workers' free memory counts as devices of their own.
@Suite("Split fit")
struct SplitFitTests {
    static let GiB = MemoryEstimate.GiB
    /// 65.0 GiB in all, fully offloaded (MemoryEstimateTests' 26B-like model at 64K context).
    static let big = MemoryEstimate(model: MemoryEstimateTests.big, context: 65536, slots: 4)
    static let breakdown = "weights 13.4 GiB + KV cache 48.0 GiB for 65536 ctx (4 slots x 16384) + 3.6 GiB overhead"

    @Test func fitsOnlyWithTheWorkers() {
        let gtt = MemoryPoolBudget(name: "GTT of Radeon 8060S", availableBytes: 48 * Self.GiB)
        #expect(!Self.big.verdict(gtt).fits, "this box alone is too small")
        let workers = [WorkerMemory(name: "rpc worker w0 (127.0.0.1:50052)", freeBytes: 20 * Self.GiB),
                       WorkerMemory(name: "rpc worker 10.77.0.2:50052", freeBytes: 20 * Self.GiB)]
        let v = SplitFitVerdict(estimate: Self.big, workers: workers, local: gtt, localIsDevice: true, shared: true)
        #expect(v.fits)
        #expect(v.hint == nil)
        #expect(v.devicesFreeBytes == 88 * Self.GiB)
        #expect(v.host == nil, "fully offloaded: nothing stays in host memory")
        #expect(v.message == "fits: needs 65.0 GiB (\(Self.breakdown)): 65.0 GiB on 3 devices with 88.0 GiB free together: "
            + "this box's GTT of Radeon 8060S 48.0 GiB, rpc worker w0 (127.0.0.1:50052) 20.0 GiB, rpc worker 10.77.0.2:50052 20.0 GiB")
    }

    @Test func doesNotFitEvenWithTheWorkers() {
        // The default device list is the workers only: this box's memory holds no layers.
        let system = MemoryPoolBudget(name: "system memory", availableBytes: 100 * Self.GiB)
        let workers = [WorkerMemory(name: "rpc worker w0 (127.0.0.1:50052)", freeBytes: 20 * Self.GiB),
                       WorkerMemory(name: "rpc worker w1 (127.0.0.1:50053)", freeBytes: 20 * Self.GiB)]
        let v = SplitFitVerdict(estimate: Self.big, workers: workers, local: system, localIsDevice: false, shared: true)
        #expect(!v.fits)
        #expect(v.devicesNeedBytes == Self.big.totalBytes)
        #expect(v.message == "does not fit: needs 65.0 GiB (\(Self.breakdown)): 65.0 GiB on 2 devices with 40.0 GiB free together "
            + "(25.0 GiB short): rpc worker w0 (127.0.0.1:50052) 20.0 GiB, rpc worker w1 (127.0.0.1:50053) 20.0 GiB")
        #expect(v.hint?.contains("add a worker") == true)
    }

    @Test func aWorkerThatDidNotAnswerCountsAsZeroWithANote() throws {
        let system = MemoryPoolBudget(name: "system memory", availableBytes: 100 * Self.GiB)
        let workers = [WorkerMemory(name: "rpc worker w0 (127.0.0.1:50052)", freeBytes: 40 * Self.GiB),
                       WorkerMemory(name: "rpc worker 10.77.0.2:50052", failure: "no answer in time (busy with a main, or gone)")]
        let v = SplitFitVerdict(estimate: Self.big, workers: workers, local: system, localIsDevice: false, shared: true)
        #expect(!v.fits)
        #expect(v.devicesFreeBytes == 40 * Self.GiB)
        #expect(try #require(v.devices.last).freeBytes == 0)
        #expect(v.message.hasSuffix("rpc worker w0 (127.0.0.1:50052) 40.0 GiB, rpc worker 10.77.0.2:50052 0 B "
            + "(no answer in time (busy with a main, or gone): counted as 0)"), "\(v.message)")
        #expect(v.hint?.hasPrefix("start the worker that did not answer") == true)
        // The same worker with its memory: the model fits.
        let answered = SplitFitVerdict(estimate: Self.big, workers: [workers[0], WorkerMemory(name: workers[1].name, freeBytes: 40 * Self.GiB)],
                                       local: system, localIsDevice: false, shared: true)
        #expect(answered.fits)
    }

    @Test func theHostPartIsJudgedOnThisBoxAlone() {
        // Half the layers offloaded; the other half stays in host memory, which workers cannot lend.
        let e = MemoryEstimate(model: MemoryEstimateTests.big, context: 65536, slots: 4, gpuLayers: .count(24))
        let vram = MemoryPoolBudget(name: "VRAM of RX 7900", availableBytes: 16 * Self.GiB)
        let system = MemoryPoolBudget(name: "system memory", availableBytes: 8 * Self.GiB)
        let workers = [WorkerMemory(name: "rpc worker w0 (127.0.0.1:50052)", freeBytes: 40 * Self.GiB)]
        let v = SplitFitVerdict(estimate: e, workers: workers, local: vram, localIsDevice: true, shared: false, hostPool: system)
        #expect(v.devicesFit)
        #expect(v.devicesNeedBytes == e.deviceBytes)
        #expect(v.devicesFreeBytes == 56 * Self.GiB)
        #expect(v.host?.fits == false)
        #expect(!v.fits)
        #expect(v.message.hasSuffix("; \(ByteCount.format(e.hostBytes)) in this box's system memory, which has 8.0 GiB free "
            + "(\(ByteCount.format(e.hostBytes - 8 * Self.GiB)) short)"), "\(v.message)")
        #expect(v.hint == "offload more layers (gpu_layers) or free memory on this box")
        // On an APU the local share of the layers and the host part draw on one pool.
        let gtt = MemoryPoolBudget(name: "GTT", availableBytes: 30 * Self.GiB)
        let apu = SplitFitVerdict(estimate: e, workers: workers, local: gtt, localIsDevice: true, shared: true)
        #expect(apu.devicesNeedBytes == e.totalBytes)
        #expect(apu.host?.name == "this box's GTT")
        #expect(apu.fits == (e.totalBytes <= 70 * Self.GiB && e.hostBytes <= 30 * Self.GiB))
    }

    @Test(arguments: [
        ([String](), false),
        (["-ts", "1,1"], false),
        (["-dev", "RPC0,RPC1"], false),
        (["--device", "ROCm0,RPC0"], true),
        (["--device=Vulkan0"], true),
        (["-dev", "none"], false),
        (["-dev"], false),
        (["-dev", "RPC0", "-dev", "ROCm0"], true),
    ])
    func localDeviceFromArgs(args: [String], local: Bool) {
        #expect(RPCDevices.includesLocal(args: args) == local, "\(args)")
    }
}
