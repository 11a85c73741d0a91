import Foundation

/// What one RPC worker said about its free memory (GET_DEVICE_MEMORY), for a main's fit check.
public struct WorkerMemory: Sendable, Equatable {
    /// What messages call it: `rpc worker w0 (127.0.0.1:50052)`.
    public var name: String
    /// Free bytes as the worker reported them; nil when it did not answer (counted as 0).
    public var freeBytes: UInt64?
    /// Why there is no number (`no answer in time (busy with a main, or gone)`).
    public var failure: String?

    public init(name: String, freeBytes: UInt64) {
        self.name = name
        self.freeBytes = freeBytes
    }

    public init(name: String, failure: String) {
        self.name = name
        self.failure = failure
    }

    /// `rpc worker w0 (127.0.0.1:50052)` for a local worker, `rpc worker 10.77.0.2:50052` for another box's.
    public static func name(of e: RPCEndpoint) -> String {
        "rpc worker \(e.description)" + (e.profile == nil ? "" : " (\(e.address))")
    }

    /// What the check counts on: the reported free bytes, 0 for a worker that did not say.
    public var countedBytes: UInt64 { freeBytes ?? 0 }
}

/// Whether a model split over this box and RPC workers fits: the offloaded part (`MemoryEstimate.
/// deviceBytes`) against the free memory of every device llama-server spreads it over (each worker, and
/// this box's GPU pool when `-dev` names a local device), the rest (CPU layers, token embeddings) against
/// this box's host memory. llama-server splits layers by free memory unless `-ts` fixes it, so the
/// devices are judged by their sum. A worker that did not answer counts as 0 and the message says so.
public struct SplitFitVerdict: Sendable, Equatable {
    /// One device the offloaded layers may use, with what it has free.
    public struct Device: Sendable, Equatable {
        public var name: String
        public var freeBytes: UInt64
        /// Why the number is not what the device said (it said nothing).
        public var note: String?
    }

    public let estimate: MemoryEstimate
    /// This box's pool first (when it is a device), then the workers in `rpc:` order.
    public let devices: [Device]
    /// What the devices must hold together: the offloaded part, plus the host part when this box's
    /// device and host memory are one pool (an APU's GTT, the CPU).
    public let devicesNeedBytes: UInt64
    /// The host part and where it lives; nil when the host part shares the devices' check.
    public let host: FitVerdict.PoolCheck?

    public var devicesFreeBytes: UInt64 { devices.reduce(0) { .saturatingSum($0, $1.freeBytes) } }
    public var devicesFit: Bool { devicesNeedBytes <= devicesFreeBytes }
    public var fits: Bool { devicesFit && (host?.fits ?? true) }

    /// Judges `estimate` over `workers`. `local` is this box's model pool (GTT or VRAM of its GPU, or
    /// system memory); `localIsDevice` says whether the main's `-dev` list names it (the default list is
    /// the workers only); `shared` says device and host memory are one pool (APU GTT, CPU); `hostPool`
    /// is where the host part goes when they are not (system memory beside a discrete GPU).
    public init(estimate: MemoryEstimate, workers: [WorkerMemory], local: MemoryPoolBudget, localIsDevice: Bool,
                shared: Bool, hostPool: MemoryPoolBudget? = nil)
    {
        self.estimate = estimate
        var devices: [Device] = []
        if localIsDevice { devices.append(Device(name: "this box's \(local.name)", freeBytes: local.availableBytes)) }
        devices += workers.map { w in
            Device(name: w.name, freeBytes: w.countedBytes,
                   note: w.freeBytes == nil ? "\(w.failure ?? "no answer"): counted as 0" : nil)
        }
        self.devices = devices
        let hostBudget = shared ? local : (hostPool ?? MemoryPoolBudget(name: "system memory", availableBytes: 0))
        if localIsDevice && shared {
            // The local share of the layers and the host part draw on one pool: judge the whole need
            // against everything, and the host part alone against the local pool.
            devicesNeedBytes = estimate.totalBytes
        } else {
            devicesNeedBytes = estimate.deviceBytes
        }
        host = estimate.hostBytes > 0
            ? .init(name: "this box's \(hostBudget.name)", neededBytes: estimate.hostBytes, availableBytes: hostBudget.availableBytes)
            : nil
    }

    /// `does not fit: needs 150.1 GiB (weights ... + overhead, on the GPU): 150.1 GiB on 2 devices with
    /// 46.0 GiB free together (104.1 GiB short): rpc worker w0 (127.0.0.1:50052) 23.0 GiB, rpc worker w1
    /// (127.0.0.1:50053) 23.0 GiB`.
    public var message: String {
        let verdict = fits ? "fits" : "does not fit"
        var text = "\(verdict): needs \(ByteCount.format(estimate.totalBytes)) (\(estimate.breakdown)): "
        let count = devices.count == 1 ? "1 device" : "\(devices.count) devices"
        text += "\(ByteCount.format(devicesNeedBytes)) on \(count) with \(ByteCount.format(devicesFreeBytes)) free together"
        if !devicesFit { text += " (\(ByteCount.format(devicesNeedBytes - devicesFreeBytes)) short)" }
        text += ": " + devices.map { d in
            "\(d.name) \(ByteCount.format(d.freeBytes))" + (d.note.map { " (\($0))" } ?? "")
        }.joined(separator: ", ")
        if let h = host {
            text += "; \(ByteCount.format(h.neededBytes)) in \(h.name), which has \(ByteCount.format(h.availableBytes)) free"
            if !h.fits { text += " (\(ByteCount.format(h.shortBytes)) short)" }
        }
        return text
    }

    /// What would make it fit; nil when it fits.
    public var hint: String? {
        guard !fits else { return nil }
        if devices.contains(where: { $0.note != nil }) {
            return "start the worker that did not answer (`hermes-runtime doctor` asks each one), lower the context, use a q8_0/q4_0 KV cache, or add a worker"
        }
        if !devicesFit { return "lower the context, use a q8_0/q4_0 KV cache, free memory on the workers, or add a worker to `rpc:`" }
        return "offload more layers (gpu_layers) or free memory on this box"
    }
}

/// Which devices a main with `rpc:` spreads its layers over, from its `args:`.
public enum RPCDevices {
    /// Whether `-dev`/`--device` in `args` names a device of this box (anything but `RPCn` and `none`).
    /// Without it the main gets `-dev RPC0,...` (the workers only), so this box holds no layers.
    public static func includesLocal(args: [String]) -> Bool {
        var list: String?
        var i = args.startIndex
        while i < args.endIndex {
            let a = args[i]
            if a == "-dev" || a == "--device" {
                list = args.indices.contains(i + 1) ? args[i + 1] : nil
                i += 2
                continue
            }
            if a.hasPrefix("--device=") { list = String(a.dropFirst("--device=".count)) }
            if a.hasPrefix("-dev=") { list = String(a.dropFirst("-dev=".count)) }
            i += 1
        }
        guard let list else { return false }
        return list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.contains { name in
            !name.isEmpty && name.lowercased() != "none" && !name.uppercased().hasPrefix("RPC")
        }
    }
}
