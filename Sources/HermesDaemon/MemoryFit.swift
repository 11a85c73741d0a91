import Foundation
import HermesCore
import HermesGPU
import HermesSupervisor

/// The pre-flight memory check: GGUF weights + KV cache + overhead against the pool the model will use
/// (GTT or VRAM as the GPU probe says, system memory on the CPU). A refusal carries the numbers;
/// `start --force` skips it.
enum MemoryFit {
    static func check(monitor: GPUMonitor) -> FitCheck {
        { _, settings in
            guard let verdict = await ModelFit.verdict(settings: settings, monitor: monitor), !verdict.fits else { return nil }
            return FitRefusal(reason: "the model " + verdict.message, hint: verdict.hint)
        }
    }
}
