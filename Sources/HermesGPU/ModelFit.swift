import HermesCore

/// Will a profile's model fit in the memory it will use? Weights + KV cache + overhead (HermesCore's
/// estimate from the GGUF header) against the pool the GPU probe names: GTT on an APU whose carve-out
/// is small, VRAM on a discrete card (its host part against system memory), system memory on the CPU.
///
/// The supervisor's pre-flight check and `doctor` both ask this, so they never disagree.
public enum ModelFit {
    /// The verdict for `settings` given what the probe found; nil when the model cannot be read or no
    /// pool can be measured (nothing to judge, so nothing is refused).
    public static func verdict(settings: LlamaServerSettings, gpu: GPUFit?, systemAvailableBytes: UInt64?) -> FitVerdict? {
        guard let model = settings.model, var info = try? GGUFReader.modelInfo(path: model) else { return nil }
        if settings.speculative?.kind == .draft, let draft = settings.speculative?.draftModel, let d = try? GGUFReader.modelInfo(path: draft) {
            info = info.withDraft(d, settings: settings)
        }
        return verdict(model: info, settings: settings, gpu: gpu, systemAvailableBytes: systemAvailableBytes)
    }

    /// The verdict for a model already read (the daemon reads it on a thread of its own).
    public static func verdict(model info: GGUFModelInfo, settings: LlamaServerSettings, gpu: GPUFit?,
                               systemAvailableBytes: UInt64?) -> FitVerdict? {
        let estimate = MemoryEstimate(model: info, settings: settings)
        if let gpu, !estimate.runsOnCPU {
            let pool = "\(gpu.pool.displayName) of \(gpu.deviceName)"
            // An APU's GTT is system RAM: the whole need, host part included (the prompt cache in RAM),
            // comes from one pool. A discrete card with every layer holds it all, but the prompt cache.
            if gpu.pool == .gtt || (estimate.fullyOffloaded && (estimate.hostBytes == 0 || systemAvailableBytes == nil)) {
                return estimate.verdict(available: gpu.usableBytes, pool: pool)
            }
            return estimate.verdict(device: MemoryPoolBudget(name: pool, availableBytes: gpu.usableBytes),
                                    host: MemoryPoolBudget(name: "system memory", availableBytes: systemAvailableBytes ?? 0))
        }
        guard let available = systemAvailableBytes else { return nil }
        return estimate.verdict(available: available, pool: "system memory")
    }

    /// `splitVerdict(model:...)` reading the model's header; nil when it cannot be read.
    public static func splitVerdict(settings: LlamaServerSettings, gpu: GPUFit?, systemAvailableBytes: UInt64?,
                                    workers: [WorkerMemory]) -> SplitFitVerdict? {
        guard let model = settings.model, var info = try? GGUFReader.modelInfo(path: model) else { return nil }
        if settings.speculative?.kind == .draft, let draft = settings.speculative?.draftModel, let d = try? GGUFReader.modelInfo(path: draft) {
            info = info.withDraft(d, settings: settings)
        }
        return splitVerdict(model: info, settings: settings, gpu: gpu, systemAvailableBytes: systemAvailableBytes, workers: workers)
    }

    /// The verdict for a main that spreads its layers over RPC workers: the workers' free memory (and
    /// this box's model pool when `-dev` in `args:` names a local device) against the offloaded part,
    /// this box's host memory against the rest. nil when this box's memory cannot be measured.
    public static func splitVerdict(model info: GGUFModelInfo, settings: LlamaServerSettings, gpu: GPUFit?,
                                    systemAvailableBytes: UInt64?, workers: [WorkerMemory]) -> SplitFitVerdict? {
        let estimate = MemoryEstimate(model: info, settings: settings)
        let localIsDevice = RPCDevices.includesLocal(args: settings.args ?? [])
        let system = MemoryPoolBudget(name: "system memory", availableBytes: systemAvailableBytes ?? 0)
        if let gpu {
            let pool = MemoryPoolBudget(name: "\(gpu.pool.displayName) of \(gpu.deviceName)", availableBytes: gpu.usableBytes)
            // An APU's GTT is system RAM: its device share and the host part come from one pool.
            if gpu.pool == .gtt {
                return SplitFitVerdict(estimate: estimate, workers: workers, local: pool, localIsDevice: localIsDevice, shared: true)
            }
            return SplitFitVerdict(estimate: estimate, workers: workers, local: pool, localIsDevice: localIsDevice,
                                   shared: false, hostPool: system)
        }
        guard systemAvailableBytes != nil else { return nil }
        return SplitFitVerdict(estimate: estimate, workers: workers, local: system, localIsDevice: localIsDevice, shared: true)
    }

    /// Asks the monitor (rocm_smi, else sysfs) and `/proc/meminfo`, then judges.
    public static func verdict(settings: LlamaServerSettings, monitor: GPUMonitor) async -> FitVerdict? {
        let gpu = await monitor.fit()
        return verdict(settings: settings, gpu: gpu, systemAvailableBytes: SystemMemory.availableBytes(meminfoPath: monitor.meminfoPath))
    }
}
