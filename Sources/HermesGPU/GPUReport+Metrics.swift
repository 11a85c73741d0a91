import Metrics

extension GPUReport {
    /// Publishes the report as gauges; the daemon calls this after each background sample.
    ///
    /// - `hermes_gpu_memory_total_bytes{device,pool}` and `hermes_gpu_memory_used_bytes{device,pool}` for
    ///   each pool the device has (`vram`, `vis_vram`, `gtt`; never a sum of them),
    /// - `hermes_gpu_busy_percent{device}`, `hermes_gpu_temperature_celsius{device}` when known.
    ///
    /// `device` is the PCI address (``GPUDevice/metricLabel``).
    public func publishMetrics(factory: any MetricsFactory = MetricsSystem.factory) {
        for device in devices {
            let label = device.metricLabel
            for pool in GPUMemoryPool.allCases {
                guard let usage = device.usage(of: pool) else { continue }
                let dimensions = [("device", label), ("pool", pool.rawValue)]
                // Clamped: a garbage counter near 2^64 must not trap in Int64 conversion.
                Gauge(label: "hermes_gpu_memory_total_bytes", dimensions: dimensions, factory: factory)
                    .record(Int64(clamping: usage.totalBytes))
                Gauge(label: "hermes_gpu_memory_used_bytes", dimensions: dimensions, factory: factory)
                    .record(Int64(clamping: usage.usedBytes))
            }
            if let busy = device.busyPercent {
                Gauge(label: "hermes_gpu_busy_percent", dimensions: [("device", label)], factory: factory).record(busy)
            }
            if let celsius = device.edgeTemperatureCelsius {
                Gauge(label: "hermes_gpu_temperature_celsius", dimensions: [("device", label)], factory: factory).record(celsius)
            }
        }
    }
}
