/// What a probe read, before any decision: the raw numbers of each device and process. Both probes
/// (rocm_smi and sysfs) produce this; ``GPUReport/init(source:sample:systemMemoryAvailableBytes:notes:)``
/// turns it into a report with ``APUPolicy``.
public struct GPUSample: Sendable, Equatable {
    /// One device's raw numbers; nil where a value could not be read (see `problems`).
    public struct Device: Sendable, Equatable {
        /// rocm_smi's device index, or the order of the card in sysfs.
        public var index: Int
        /// `card0` (sysfs only).
        public var card: String?
        /// The driver's name when it has a real one (not rocm_smi's vendor-id fallback).
        public var name: String?
        /// PCI device id.
        public var deviceID: UInt16?
        /// `DDDD:BB:DD.F`.
        public var pciAddress: String?
        /// Bytes of VRAM (the carve-out on an APU).
        public var vramTotal: UInt64?
        /// Bytes of VRAM in use.
        public var vramUsed: UInt64?
        /// Bytes of CPU-visible VRAM.
        public var visibleVRAMTotal: UInt64?
        /// Bytes of CPU-visible VRAM in use.
        public var visibleVRAMUsed: UInt64?
        /// Bytes of GTT.
        public var gttTotal: UInt64?
        /// Bytes of GTT in use.
        public var gttUsed: UInt64?
        /// `gpu_busy_percent`.
        public var busyPercent: Int?
        /// Edge temperature in degrees Celsius.
        public var edgeTemperatureCelsius: Double?
        /// KFD's id for the device (sysfs only; keys `kfd/proc/<pid>/vram_<gpu_id>`).
        public var kfdGPUID: UInt64?
        /// What could not be read, for a person.
        public var problems: [String]

        /// A device reading; every value defaults to unknown.
        public init(index: Int, card: String? = nil, name: String? = nil, deviceID: UInt16? = nil,
                    pciAddress: String? = nil, vramTotal: UInt64? = nil, vramUsed: UInt64? = nil,
                    visibleVRAMTotal: UInt64? = nil, visibleVRAMUsed: UInt64? = nil, gttTotal: UInt64? = nil,
                    gttUsed: UInt64? = nil, busyPercent: Int? = nil, edgeTemperatureCelsius: Double? = nil,
                    kfdGPUID: UInt64? = nil, problems: [String] = []) {
            self.index = index
            self.card = card
            self.name = name
            self.deviceID = deviceID
            self.pciAddress = pciAddress
            self.vramTotal = vramTotal
            self.vramUsed = vramUsed
            self.visibleVRAMTotal = visibleVRAMTotal
            self.visibleVRAMUsed = visibleVRAMUsed
            self.gttTotal = gttTotal
            self.gttUsed = gttUsed
            self.busyPercent = busyPercent
            self.edgeTemperatureCelsius = edgeTemperatureCelsius
            self.kfdGPUID = kfdGPUID
            self.problems = problems
        }
    }

    /// The AMD GPUs read.
    public var devices: [Device]
    /// Processes holding GPU memory.
    public var processes: [GPUProcess]
    /// Why there is no device, when there is none.
    public var reason: String?
    /// Things worth a line that are not about one device.
    public var notes: [String]

    /// A reading from its parts.
    public init(devices: [Device], processes: [GPUProcess] = [], reason: String? = nil, notes: [String] = []) {
        self.devices = devices
        self.processes = processes
        self.reason = reason
        self.notes = notes
    }
}

extension GPUReport {
    /// Applies ``APUPolicy`` to what a probe read.
    public init(source: GPUSource, sample: GPUSample, systemMemoryAvailableBytes: UInt64?, notes: [String] = []) {
        let devices = sample.devices.map(GPUDevice.init(sample:))
        self.init(source: devices.isEmpty ? nil : source, devices: devices, processes: sample.processes,
                  reason: devices.isEmpty ? (sample.reason ?? "no AMD GPU found") : nil,
                  notes: notes + sample.notes, systemMemoryAvailableBytes: systemMemoryAvailableBytes)
    }
}

extension GPUDevice {
    /// One device of a sample, with its pools paired and its model pool decided.
    public init(sample d: GPUSample.Device) {
        var problems = d.problems
        func pair(_ total: UInt64?, _ used: UInt64?) -> GPUMemoryUsage? {
            guard let total else { return nil }
            // A used figure we could not read is not "zero used": leave the pool's use unknown.
            guard let used else { return nil }
            return GPUMemoryUsage(totalBytes: total, usedBytes: used)
        }
        let vram = pair(d.vramTotal, d.vramUsed)
        let gtt = pair(d.gttTotal, d.gttUsed)
        let decision = APUPolicy.decide(deviceID: d.deviceID, vramTotal: d.vramTotal, gttTotal: d.gttTotal)
        var modelMemory: GPUMemoryUsage?
        if let decision {
            modelMemory = decision.pool == .gtt ? gtt : vram
            if modelMemory == nil {
                problems.append("the use of \(decision.pool.displayName) could not be read, so its free memory is unknown")
            }
        }
        self.init(
            index: d.index, card: d.card, name: d.name ?? APUPolicy.fallbackName(deviceID: d.deviceID),
            deviceID: d.deviceID.map { "0x" + APUPolicy.hex4($0) }, pciAddress: d.pciAddress,
            vram: vram, visibleVRAM: pair(d.visibleVRAMTotal, d.visibleVRAMUsed), gtt: gtt,
            busyPercent: d.busyPercent, edgeTemperatureCelsius: d.edgeTemperatureCelsius,
            integrated: decision?.integrated ?? false,
            modelPool: decision?.pool,
            modelPoolReason: decision?.reason ?? "VRAM size unknown: no pool can be named",
            modelMemory: modelMemory, problems: problems)
    }
}
