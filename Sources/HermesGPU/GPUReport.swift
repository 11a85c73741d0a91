import Foundation

/// Where a report's numbers came from.
public enum GPUSource: String, Codable, Sendable, CaseIterable {
    /// librocm_smi, the ROCm System Management Interface library.
    case rocmSMI = "rocm_smi"
    /// The amdgpu driver's files under `/sys/class/drm/card*/device` and `/sys/class/kfd`.
    case sysfs
}

/// A memory pool of an AMD GPU, as the amdgpu driver names them.
public enum GPUMemoryPool: String, Codable, Sendable, CaseIterable {
    /// Device memory. On an APU this is only the BIOS carve-out.
    case vram
    /// The part of VRAM the CPU can map (a subset of `vram`, never added to it).
    case visibleVRAM = "vis_vram"
    /// System RAM the GPU maps through its page tables (GTT). On an APU, where models really live.
    case gtt

    /// How a person reads the pool's name.
    public var displayName: String {
        switch self {
        case .vram: "VRAM"
        case .visibleVRAM: "visible VRAM"
        case .gtt: "GTT"
        }
    }
}

/// Size and use of one pool. `freeBytes` is stored (not computed) so it shows in JSON.
public struct GPUMemoryUsage: Codable, Sendable, Equatable {
    /// The pool's size.
    public var totalBytes: UInt64
    /// What is allocated in it.
    public var usedBytes: UInt64
    /// `total - used`, never below zero (the driver's counters are read one after the other).
    public var freeBytes: UInt64

    /// A pool's usage; `freeBytes` follows.
    public init(totalBytes: UInt64, usedBytes: UInt64) {
        self.totalBytes = totalBytes
        self.usedBytes = usedBytes
        self.freeBytes = totalBytes > usedBytes ? totalBytes - usedBytes : 0
    }
}

/// One AMD GPU: its pools, load, temperature, and the pool models will be placed in.
public struct GPUDevice: Codable, Sendable, Equatable {
    /// Position in the report (rocm_smi's device index, or the order of `card*` in sysfs).
    public var index: Int
    /// The DRM card name (`card0`) when read from sysfs.
    public var card: String?
    /// Product name, or a known name for the PCI device id, or the id itself.
    public var name: String
    /// PCI device id, as `0x1586`.
    public var deviceID: String?
    /// PCI address `DDDD:BB:DD.F`: the same under both sources, so the label for metrics.
    public var pciAddress: String?
    /// `mem_info_vram_*`: on an APU, the BIOS carve-out.
    public var vram: GPUMemoryUsage?
    /// `mem_info_vis_vram_*`: the CPU-visible part of VRAM (part of it, not more of it).
    public var visibleVRAM: GPUMemoryUsage?
    /// `mem_info_gtt_*`: system RAM the GPU maps.
    public var gtt: GPUMemoryUsage?
    /// `gpu_busy_percent`.
    public var busyPercent: Int?
    /// Edge temperature in degrees Celsius.
    public var edgeTemperatureCelsius: Double?
    /// An APU sharing system RAM (see ``APUPolicy``).
    public var integrated: Bool
    /// The pool a model loaded on this GPU ends up in; nil when the VRAM size could not be read.
    public var modelPool: GPUMemoryPool?
    /// Why that pool, for a person.
    public var modelPoolReason: String
    /// Total, used and free of `modelPool`. The one figure to judge "fits" against; VRAM and GTT are
    /// never added together. Nil when that pool's total or use could not be read.
    public var modelMemory: GPUMemoryUsage?
    /// What could not be read, each for a person (`card0: mem_info_gtt_total: ...`).
    public var problems: [String]

    /// The `device` label for metrics: the PCI address when known, since it is the same under both
    /// sources and survives a renumbering of cards.
    public var metricLabel: String { pciAddress ?? "gpu\(index)" }

    /// A device as a report holds it (``init(sample:)`` builds one from a probe's reading).
    public init(index: Int, card: String? = nil, name: String, deviceID: String? = nil, pciAddress: String? = nil,
                vram: GPUMemoryUsage? = nil, visibleVRAM: GPUMemoryUsage? = nil, gtt: GPUMemoryUsage? = nil,
                busyPercent: Int? = nil, edgeTemperatureCelsius: Double? = nil, integrated: Bool,
                modelPool: GPUMemoryPool?, modelPoolReason: String, modelMemory: GPUMemoryUsage?,
                problems: [String] = []) {
        self.index = index
        self.card = card
        self.name = name
        self.deviceID = deviceID
        self.pciAddress = pciAddress
        self.vram = vram
        self.visibleVRAM = visibleVRAM
        self.gtt = gtt
        self.busyPercent = busyPercent
        self.edgeTemperatureCelsius = edgeTemperatureCelsius
        self.integrated = integrated
        self.modelPool = modelPool
        self.modelPoolReason = modelPoolReason
        self.modelMemory = modelMemory
        self.problems = problems
    }

    /// The usage of one pool.
    public func usage(of pool: GPUMemoryPool) -> GPUMemoryUsage? {
        switch pool {
        case .vram: vram
        case .visibleVRAM: visibleVRAM
        case .gtt: gtt
        }
    }
}

/// A process holding memory on an AMD GPU, as KFD accounts it (`kfd/proc/<pid>/vram_<gpu_id>`).
public struct GPUProcess: Codable, Sendable, Equatable {
    /// The process id.
    public var pid: Int32
    /// Bytes KFD accounts to the process, summed over the AMD GPUs it uses.
    public var bytes: UInt64
    /// Indices (``GPUDevice/index``) of the devices it uses, when the source can tell.
    public var devices: [Int]
    /// The hermes-runtime profile this process serves, when the caller told us (see ``GPUReport/naming(_:)``).
    public var profile: String?

    /// A process and its use.
    public init(pid: Int32, bytes: UInt64, devices: [Int], profile: String? = nil) {
        self.pid = pid
        self.bytes = bytes
        self.devices = devices
        self.profile = profile
    }
}

/// One look at the machine's AMD GPUs.
public struct GPUReport: Codable, Sendable, Equatable {
    /// The source that answered; nil when none found a device.
    public var source: GPUSource?
    /// Every AMD GPU found, in index order.
    public var devices: [GPUDevice]
    /// Every process holding GPU memory, by pid.
    public var processes: [GPUProcess]
    /// Why there is no device, for a person; nil when there is one.
    public var reason: String?
    /// What else a person may want to know (a source that failed before the fallback answered, ...).
    public var notes: [String]
    /// Which source answered and why that one, for a person: the rocm_smi library's file and how it
    /// was found, or why sysfs answered instead.
    public var sourceDetail: String?
    /// `MemAvailable` from `/proc/meminfo`: on an APU, GTT is system RAM, so this bounds what a model
    /// placed in GTT can really get.
    public var systemMemoryAvailableBytes: UInt64?

    /// A report from its parts (``init(source:sample:systemMemoryAvailableBytes:notes:)`` builds one from a probe).
    public init(source: GPUSource?, devices: [GPUDevice], processes: [GPUProcess] = [], reason: String? = nil,
                notes: [String] = [], systemMemoryAvailableBytes: UInt64? = nil) {
        self.source = source
        self.devices = devices
        self.processes = processes
        self.reason = reason
        self.notes = notes
        self.systemMemoryAvailableBytes = systemMemoryAvailableBytes
    }

    /// A report with no device, saying why.
    public static func noDevice(reason: String, notes: [String] = [], systemMemoryAvailableBytes: UInt64? = nil) -> GPUReport {
        GPUReport(source: nil, devices: [], reason: reason, notes: notes, systemMemoryAvailableBytes: systemMemoryAvailableBytes)
    }

    /// The same report with each process's profile name filled in from `profiles` (pid -> profile, as
    /// the supervisor knows them). Processes not in the map keep no profile.
    public func naming(_ profiles: [Int32: String]) -> GPUReport {
        var copy = self
        for i in copy.processes.indices {
            copy.processes[i].profile = profiles[copy.processes[i].pid]
        }
        return copy
    }

    /// Where a model would go and how much room it has there: the device whose model pool has the most
    /// usable bytes. Nil when there is no AMD GPU whose pool could be read, so the caller uses system
    /// memory.
    public var fit: GPUFit? {
        devices.compactMap { GPUFit(device: $0, systemMemoryAvailableBytes: systemMemoryAvailableBytes) }
            .max { $0.usableBytes < $1.usableBytes }
    }
}

/// The supervisor's pre-flight answer: which pool a model goes to and how many bytes it can take there.
public struct GPUFit: Codable, Sendable, Equatable {
    /// ``GPUDevice/index`` of the device.
    public var deviceIndex: Int
    /// ``GPUDevice/name`` of the device.
    public var deviceName: String
    /// `.vram` or `.gtt`.
    public var pool: GPUMemoryPool
    /// The pool's size.
    public var totalBytes: UInt64
    /// What is allocated in it.
    public var usedBytes: UInt64
    /// Free in the pool by the driver's own counters.
    public var freeBytes: UInt64
    /// `MemAvailable`, given only when the pool is GTT (system RAM shared with every other process).
    public var systemMemoryAvailableBytes: UInt64?
    /// What a model can count on: the pool's free bytes, and for GTT no more than the system has available.
    public var usableBytes: UInt64

    /// The fit for one device; nil when its model pool is unknown.
    public init?(device: GPUDevice, systemMemoryAvailableBytes: UInt64?) {
        guard let pool = device.modelPool, let memory = device.modelMemory else { return nil }
        deviceIndex = device.index
        deviceName = device.name
        self.pool = pool
        totalBytes = memory.totalBytes
        usedBytes = memory.usedBytes
        freeBytes = memory.freeBytes
        if pool == .gtt, let available = systemMemoryAvailableBytes {
            self.systemMemoryAvailableBytes = available
            usableBytes = min(memory.freeBytes, available)
        } else {
            self.systemMemoryAvailableBytes = nil
            usableBytes = memory.freeBytes
        }
    }

    /// Whether `bytes` fit in the usable room.
    public func fits(_ bytes: UInt64) -> Bool { bytes <= usableBytes }
}
