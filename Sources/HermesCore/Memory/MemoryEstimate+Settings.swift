extension MemoryEstimate {
    /// Estimates a profile's launch: its `context` (`-c`, unset = 0 = the model's own), `slots`
    /// (`-np`), `cache_type` (`-ctk`/`-ctv`, unset = f16) and `gpu_layers` (`-ngl`, unset or `auto` =
    /// all), and the prompt cache in RAM it may grow to (`effectivePromptCache`: `cache_ram`, else
    /// llama-server's 8 GiB default). An unknown cache type or layer count is judged at llama-server's default.
    public init(model: GGUFModelInfo, settings: LlamaServerSettings, reserve: Reserve = .default) {
        self.init(
            model: model,
            context: settings.context ?? 0,
            slots: settings.slots ?? 1,
            kvCacheType: settings.cacheType.flatMap(KVCacheType.init(rawValue:)) ?? .f16,
            gpuLayers: GPULayers(setting: settings.gpuLayers) ?? .all,
            reserve: reserve,
            promptCache: settings.effectivePromptCache
        )
    }
}
