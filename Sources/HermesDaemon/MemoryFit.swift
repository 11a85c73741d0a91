import Foundation
import HermesCore
import HermesGPU
import HermesSupervisor

/// The pre-flight memory check: GGUF weights + KV cache + overhead against the pool the model will use
/// (GTT or VRAM as the GPU probe says, system memory on the CPU), or for a main with `rpc:` against its
/// workers' free memory too. A refusal carries the numbers; `start --force` skips it.
enum MemoryFit {
    static func check(monitor: GPUMonitor) -> FitCheck {
        { profile, settings, workers in
            guard let model = settings.model else { return nil }
            // The header is read on a thread of its own, bounded in time, sizes and counts: the event
            // loops this closure runs on keep serving /health, routing and `status` meanwhile.
            var info: GGUFModelInfo
            do throws(GGUFError) {
                info = try await GGUFReader().readModelInfoOnOwnThread(path: model)
                // A draft model (`speculative: type: draft`) needs memory too.
                if let draft = settings.speculative?.draftModel, settings.speculative?.kind == .draft {
                    info = info.withDraft(try await GGUFReader().readModelInfoOnOwnThread(path: draft), settings: settings)
                }
            } catch {
                // A file llama-server could not load either is refused here with the reader's reason; a
                // model that only lacks a key the estimate wants is left for llama-server to judge.
                if case .missingMetadata = error { return nil }
                return FitRefusal(reason: "the model file cannot be used: \(error.message) (\(model))",
                                  hint: "fix `model:` in \(profile.source.file); `hermes-runtime doctor` reads the file")
            }
            let gpu = await monitor.fit()
            let system = SystemMemory.availableBytes(meminfoPath: monitor.meminfoPath)
            // A main over RPC workers: their free memory counts as devices of their own.
            if !workers.isEmpty {
                guard let verdict = ModelFit.splitVerdict(model: info, settings: settings, gpu: gpu,
                                                          systemAvailableBytes: system, workers: workers),
                      !verdict.fits else { return nil }
                return FitRefusal(reason: "the model " + verdict.message, hint: verdict.hint)
            }
            guard let verdict = ModelFit.verdict(model: info, settings: settings, gpu: gpu, systemAvailableBytes: system),
                  !verdict.fits else { return nil }
            return FitRefusal(reason: "the model " + verdict.message, hint: verdict.hint)
        }
    }
}
