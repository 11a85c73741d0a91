import Foundation
import HermesCore
import HermesGPU

/// A model's memory need and the pool it will draw on, measured now.
struct ModelMemory: Sendable, Equatable {
    var neededBytes: UInt64
    var pool: Admission.Pool
    /// What the need is made of, for a refusal (`weights ... + prompt cache in RAM up to 8.0 GiB ...`).
    var breakdown: String? = nil
}

/// Where the on-demand manager reads a model's need and its pool's free memory. The daemon's source
/// reads the GGUF header and asks the GPU monitor; tests of the pure parts pass plain values instead.
typealias ModelMemorySource = @Sendable (_ profile: Profile, _ settings: LlamaServerSettings) async -> ModelMemory?

enum ModelMemoryProbe {
    /// The same estimate and pool choice as the pre-flight fit check (`ModelFit`): GTT on an APU whose
    /// carve-out is small, the carve-out when larger, a discrete card's VRAM for the layers it holds,
    /// system memory on the CPU. Nil when the model cannot be read or no pool can be measured: then
    /// nothing is refused, as with the fit check.
    static func live(monitor: GPUMonitor) -> ModelMemorySource {
        { _, settings in
            // On a thread of its own: this runs on the daemon's event loops (a cached summary after the first read).
            guard let model = settings.model, let info = try? await GGUFReader().readModelInfoOnOwnThread(path: model) else { return nil }
            let estimate = MemoryEstimate(model: info, settings: settings)
            if !estimate.runsOnCPU, let gpu = await monitor.fit() {
                // An APU's GTT is system RAM: the whole need comes from it, the prompt cache in RAM
                // (`cache_ram`) included. A discrete card holds the device part; its host part is not
                // what runs short on these machines.
                let need = gpu.pool == .gtt ? estimate.totalBytes : estimate.deviceBytes
                return ModelMemory(neededBytes: need,
                                   pool: .init(name: gpu.pool.displayName, totalBytes: gpu.totalBytes, freeBytes: gpu.usableBytes),
                                   breakdown: need == estimate.totalBytes ? estimate.breakdown : nil)
            }
            guard let available = SystemMemory.availableBytes(meminfoPath: monitor.meminfoPath) else { return nil }
            return ModelMemory(neededBytes: estimate.totalBytes, pool: .init(name: "system memory", totalBytes: nil, freeBytes: available),
                               breakdown: estimate.breakdown)
        }
    }
}
