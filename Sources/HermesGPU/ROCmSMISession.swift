import CROCmSMI
import HermesCore
import Synchronization

/// A librocm_smi session: `rsmi_init(0)` once (on the first sample), `rsmi_shut_down` on ``close()``.
///
/// Every library call runs on one dedicated thread and the caller waits at most ``timeout``: the library
/// can stall 5 s on a stale `/dev/shm/rocm_smi_card0` lock (a program that died inside a call), and
/// its device mutex blocks without limit, so a caller gives up with a message instead of hanging. A call
/// that overran keeps the thread until the library returns; meanwhile new calls fail at once as
/// ``GPUProbeError/Code/busy`` rather than pile up. The library's stderr noise is captured meanwhile
/// (see ``GPUProbeError/libraryOutput``).
public final class ROCmSMISession: Sendable {
    /// How long a caller waits for one probe (init included on the first).
    public let timeout: Duration

    private struct State {
        var initialized = false
        var closed = false
        /// The call under way and when it started.
        var inFlight: String?
        var inFlightSince: ContinuousClock.Instant?
        /// The call under way has outlived its caller's timeout.
        var overran = false
        /// Counts calls, so a late timer can tell that its call is over.
        var generation: UInt64 = 0
        /// How long the library itself took in the last call that returned.
        var lastCallDuration: Duration?
    }

    private let state = Mutex(State())

    /// librocm_smi is one singleton per process, so every session's calls share one thread, one
    /// watchdog and one stderr capture.
    private static let worker = DedicatedThread(name: "hermes-rocm-smi")
    private static let watchdog = Watchdog(name: "hermes-rocm-smi-watchdog")
    private static let capture = StderrCapture()

    /// A session whose probes wait at most `timeout` (init included). Nothing is called until ``sample()``.
    public init(timeout: Duration = .seconds(2)) {
        self.timeout = timeout
    }

    /// Whether a library call is still running after its caller gave up: its thread is parked inside
    /// librocm_smi. A process should then leave with `_exit` rather than `exit`, since static destructors
    /// would tear the library down under that thread.
    public var isStuck: Bool {
        state.withLock { $0.inFlight != nil && $0.overran }
    }

    /// How long the library itself took in the last call that returned (measured on its thread, so
    /// without the hand-over to and from it): what a probe costs the library, for logs and benchmarks.
    public var lastCallDuration: Duration? { state.withLock { $0.lastCallDuration } }

    /// Whether `rsmi_init` has succeeded and `rsmi_shut_down` not yet run.
    public var isInitialized: Bool { state.withLock { $0.initialized } }

    /// Reads every device and process (initializing the library first if needed).
    public func sample() async throws(GPUProbeError) -> GPUSample {
        let first = !isInitialized
        return try await run(first ? "rsmi_init" : "a probe") { [self] in
            // Found and loaded (dlopen, the library's constructors) on the library's thread, under the
            // call's timeout like every call into it: never on a thread of the concurrency pool.
            let lib: ROCmSMILibrary
            switch ROCmSMILibrary.shared {
            case .success(let found): lib = found
            case .failure(let missing): return .failure(missing)
            }
            if !self.isInitialized {
                let status = lib.rsmi_init(0)
                guard status == RSMI_STATUS_SUCCESS else {
                    return .failure(ROCmSMIStatus.initError(status))
                }
                self.state.withLock { $0.initialized = true }
            }
            return ROCmSMIReader.read(lib)
        }
    }

    /// Shuts the library down. Does nothing if it never initialized; if a call is stuck, the library is
    /// left as it is (shutting down under a running call would crash it).
    public func close() async {
        let needed = state.withLock { s -> Bool in
            defer { s.closed = true }
            return s.initialized && !s.closed
        }
        guard needed, case .success(let lib) = ROCmSMILibrary.shared else { return }
        _ = try? await run("rsmi_shut_down", allowClosed: true) { [self] in
            _ = lib.rsmi_shut_down()
            self.state.withLock { $0.initialized = false }
            return .success(())
        }
    }

    /// Runs `body` on the library's queue with stderr captured, waiting at most ``timeout``.
    func run<T: Sendable>(_ what: String, allowClosed: Bool = false,
                          _ body: @escaping @Sendable () -> Result<T, GPUProbeError>) async throws(GPUProbeError) -> T {
        let admission: Result<UInt64, GPUProbeError> = state.withLock { s in
            if s.closed && !allowClosed { return .failure(GPUProbeError(.closed, "the rocm_smi session is closed")) }
            if let busy = s.inFlight {
                let waited = s.inFlightSince.map { Self.seconds($0.duration(to: .now)) } ?? "?"
                return .failure(GPUProbeError(
                    .busy, "rocm_smi is still inside \(busy) after \(waited) s; not starting another call",
                    hint: ROCmSMIStatus.staleLockHint))
            }
            s.inFlight = what
            s.inFlightSince = .now
            s.overran = false
            s.generation &+= 1
            return .success(s.generation)
        }
        let generation = try admission.get()

        let timeout = self.timeout
        let result: Result<T, GPUProbeError> = await withCheckedContinuation { continuation in
            let once = OneShot(continuation)
            let alarm = Self.watchdog.arm(after: timeout) { [self] in
                let current = state.withLock { s -> Bool in
                    guard s.generation == generation, s.inFlight != nil else { return false }
                    s.overran = true
                    return true
                }
                guard current else { return }
                // Give fd 2 back to the process now: the stuck call may hold it for seconds.
                let noise = Self.capture.end()
                once.resume(.failure(GPUProbeError(
                    .timedOut, "rocm_smi did not answer within \(Self.seconds(timeout)) s (inside \(what))",
                    hint: ROCmSMIStatus.staleLockHint, libraryOutput: noise.isEmpty ? nil : noise)))
            }
            Self.worker.submit { [self] in
                let clock = ContinuousClock()
                let started = clock.now
                Self.capture.begin()
                var outcome = body()
                let noise = Self.capture.end()
                let took = started.duration(to: clock.now)
                Self.watchdog.disarm(alarm)
                state.withLock { s in
                    s.inFlight = nil
                    s.inFlightSince = nil
                    s.overran = false
                    s.lastCallDuration = took
                }
                if case .failure(let error) = outcome {
                    outcome = .failure(ROCmSMIStatus.refine(error, libraryOutput: noise))
                }
                once.resume(outcome)
            }
        }
        return try result.get()
    }

    static func seconds(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        return ms % 1000 == 0 ? "\(ms / 1000)" : "\(Double(ms) / 1000)"
    }
}

/// Resumes a continuation exactly once, whichever of the call and its timer comes first.
private final class OneShot<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Never>?>
    init(_ c: CheckedContinuation<T, Never>) { continuation = Mutex(c) }
    func resume(_ value: T) {
        let c = continuation.withLock { c -> CheckedContinuation<T, Never>? in
            defer { c = nil }
            return c
        }
        c?.resume(returning: value)
    }
}

/// `rsmi_status_t` as words for a person.
enum ROCmSMIStatus {
    static let staleLockHint = "if this persists, a program may have died holding /dev/shm/rocm_smi_card*: "
        + "stop every rocm_smi user and delete those files"

    static func name(_ status: rsmi_status_t) -> String {
        switch status {
        case RSMI_STATUS_SUCCESS: "RSMI_STATUS_SUCCESS"
        case RSMI_STATUS_INVALID_ARGS: "RSMI_STATUS_INVALID_ARGS"
        case RSMI_STATUS_NOT_SUPPORTED: "RSMI_STATUS_NOT_SUPPORTED"
        case RSMI_STATUS_FILE_ERROR: "RSMI_STATUS_FILE_ERROR"
        case RSMI_STATUS_PERMISSION: "RSMI_STATUS_PERMISSION"
        case RSMI_STATUS_OUT_OF_RESOURCES: "RSMI_STATUS_OUT_OF_RESOURCES"
        case RSMI_STATUS_INTERNAL_EXCEPTION: "RSMI_STATUS_INTERNAL_EXCEPTION"
        case RSMI_STATUS_INPUT_OUT_OF_BOUNDS: "RSMI_STATUS_INPUT_OUT_OF_BOUNDS"
        case RSMI_STATUS_INIT_ERROR: "RSMI_STATUS_INIT_ERROR"
        case RSMI_STATUS_NOT_YET_IMPLEMENTED: "RSMI_STATUS_NOT_YET_IMPLEMENTED"
        case RSMI_STATUS_NOT_FOUND: "RSMI_STATUS_NOT_FOUND"
        case RSMI_STATUS_INSUFFICIENT_SIZE: "RSMI_STATUS_INSUFFICIENT_SIZE"
        case RSMI_STATUS_INTERRUPT: "RSMI_STATUS_INTERRUPT"
        case RSMI_STATUS_UNEXPECTED_SIZE: "RSMI_STATUS_UNEXPECTED_SIZE"
        case RSMI_STATUS_NO_DATA: "RSMI_STATUS_NO_DATA"
        case RSMI_STATUS_UNEXPECTED_DATA: "RSMI_STATUS_UNEXPECTED_DATA"
        case RSMI_STATUS_BUSY: "RSMI_STATUS_BUSY"
        case RSMI_STATUS_REFCOUNT_OVERFLOW: "RSMI_STATUS_REFCOUNT_OVERFLOW"
        case RSMI_STATUS_UNKNOWN_ERROR: "RSMI_STATUS_UNKNOWN_ERROR"
        default: "status \(status.rawValue)"
        }
    }

    /// The library's own sentence for a status, without the name it sometimes repeats in front.
    static func text(_ status: rsmi_status_t) -> String {
        var pointer: UnsafePointer<CChar>?
        guard case .success(let lib) = ROCmSMILibrary.shared,
            lib.rsmi_status_string(status, &pointer) == RSMI_STATUS_SUCCESS, let pointer
        else { return "no description" }
        var text = String(cString: pointer)
        let prefix = name(status) + ": "
        if text.hasPrefix(prefix) { text.removeFirst(prefix.count) }
        return text
    }

    /// `call: NAME (n): sentence`.
    static func describe(_ call: String, _ status: rsmi_status_t) -> String {
        "\(call): \(name(status)) (\(status.rawValue)): \(text(status))"
    }

    static func initError(_ status: rsmi_status_t) -> GPUProbeError {
        let hint: String? = switch status {
        case RSMI_STATUS_PERMISSION: "run as a user who may read the amdgpu files under /sys/class/drm"
        case RSMI_STATUS_BUSY: staleLockHint
        default: nil
        }
        return GPUProbeError(.libraryInit, "rocm_smi could not start: " + describe("rsmi_init", status), hint: hint)
    }

    static func callError(_ call: String, _ status: rsmi_status_t) -> GPUProbeError {
        GPUProbeError(.libraryCall, describe(call, status))
    }

    /// Sharpens an init failure with what the library printed, which names the actual cause.
    static func refine(_ error: GPUProbeError, libraryOutput: String) -> GPUProbeError {
        var e = error
        if !libraryOutput.isEmpty { e.libraryOutput = libraryOutput }
        guard e.code == .libraryInit else { return e }
        if libraryOutput.contains("Failed to open drm root directory") {
            e.code = .noDevice
            e.message = "no AMD GPU: rocm_smi found no /sys/class/drm (no GPU driver is loaded)"
            e.hint = nil
        } else if libraryOutput.contains("Failed to initialize RSMI device mutex") {
            e.message = "rocm_smi could not take its device lock within 5 s (rsmi_init)"
            e.hint = staleLockHint
        } else if libraryOutput.contains("KFD node discovery") || libraryOutput.contains("IO Links discovery") {
            e.message += "; its KFD topology (/sys/class/kfd) could not be read"
            e.hint = e.hint ?? "is the amdgpu driver loaded with KFD (ROCm compute) support?"
        }
        return e
    }
}

/// The library calls of one probe. Runs only on the session's queue.
enum ROCmSMIReader {
    static func read(_ lib: ROCmSMILibrary) -> Result<GPUSample, GPUProbeError> {
        var count: UInt32 = 0
        let status = lib.rsmi_num_monitor_devices(&count)
        guard status == RSMI_STATUS_SUCCESS else {
            return .failure(ROCmSMIStatus.callError("rsmi_num_monitor_devices", status))
        }
        guard count > 0 else {
            return .success(GPUSample(devices: [], reason: "no AMD GPU: rocm_smi found no device"))
        }
        let devices = (0..<count).map { readDevice($0, lib) }
        var notes: [String] = []
        let processes = readProcesses(deviceCount: count, lib, notes: &notes)
        return .success(GPUSample(devices: devices, processes: processes, notes: notes))
    }

    static func readDevice(_ i: UInt32, _ lib: ROCmSMILibrary) -> GPUSample.Device {
        var d = GPUSample.Device(index: Int(i))
        func check(_ call: String, _ status: rsmi_status_t, optional: Bool = false) -> Bool {
            if status == RSMI_STATUS_SUCCESS { return true }
            // Not supported on an APU (busy %, some sensors): absent, not a problem.
            if !(optional && status == RSMI_STATUS_NOT_SUPPORTED) {
                d.problems.append("gpu\(i): " + ROCmSMIStatus.describe(call, status))
            }
            return false
        }

        var nameBuffer = [CChar](repeating: 0, count: 256)
        if check("rsmi_dev_name_get", lib.rsmi_dev_name_get(i, &nameBuffer, nameBuffer.count), optional: true) {
            let name = String(decoding: nameBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // Without a product_name file or a pci.ids entry the library answers with the vendor id
            // ("0x1002"): not a name.
            if !name.isEmpty && !name.hasPrefix("0x") { d.name = name }
        }
        var id: UInt16 = 0
        if check("rsmi_dev_id_get", lib.rsmi_dev_id_get(i, &id)) { d.deviceID = id }
        var bdfid: UInt64 = 0
        if check("rsmi_dev_pci_id_get", lib.rsmi_dev_pci_id_get(i, &bdfid)) { d.pciAddress = PCIAddress.format(bdfid: bdfid) }

        func memory(_ type: rsmi_memory_type_t, _ label: String, optional: Bool = false) -> (UInt64?, UInt64?) {
            var total: UInt64 = 0, used: UInt64 = 0
            let t = check("rsmi_dev_memory_total_get(\(label))", lib.rsmi_dev_memory_total_get(i, type, &total), optional: optional)
            let u = check("rsmi_dev_memory_usage_get(\(label))", lib.rsmi_dev_memory_usage_get(i, type, &used), optional: optional)
            return (t ? total : nil, u ? used : nil)
        }
        (d.vramTotal, d.vramUsed) = memory(RSMI_MEM_TYPE_VRAM, "VRAM")
        (d.visibleVRAMTotal, d.visibleVRAMUsed) = memory(RSMI_MEM_TYPE_VIS_VRAM, "VIS_VRAM", optional: true)
        (d.gttTotal, d.gttUsed) = memory(RSMI_MEM_TYPE_GTT, "GTT")

        var busy: UInt32 = 0
        if check("rsmi_dev_busy_percent_get", lib.rsmi_dev_busy_percent_get(i, &busy), optional: true) {
            d.busyPercent = Int(min(busy, 100))
        }
        var milli: Int64 = 0
        if check("rsmi_dev_temp_metric_get(edge)",
                 lib.rsmi_dev_temp_metric_get(i, RSMI_TEMP_TYPE_EDGE.rawValue, RSMI_TEMP_CURRENT, &milli), optional: true) {
            d.edgeTemperatureCelsius = Double(milli) / 1000
        }
        return d
    }

    /// KFD processes: the list gives pids only (5.2.3 leaves `vram_usage` empty there), so each pid is
    /// asked for its use and its devices.
    static func readProcesses(deviceCount: UInt32, _ lib: ROCmSMILibrary, notes: inout [String]) -> [GPUProcess] {
        var found: UInt32 = 0
        var status = lib.rsmi_compute_process_info_get(nil, &found)
        guard status == RSMI_STATUS_SUCCESS else {
            notes.append("processes: " + ROCmSMIStatus.describe("rsmi_compute_process_info_get", status))
            return []
        }
        guard found > 0 else { return [] }
        // Room for a few that start between the two calls.
        var infos = [rsmi_process_info_t](repeating: rsmi_process_info_t(), count: Int(found) + 8)
        var written = UInt32(infos.count)
        status = lib.rsmi_compute_process_info_get(&infos, &written)
        guard status == RSMI_STATUS_SUCCESS || status == RSMI_STATUS_INSUFFICIENT_SIZE else {
            notes.append("processes: " + ROCmSMIStatus.describe("rsmi_compute_process_info_get", status))
            return []
        }
        var processes: [GPUProcess] = []
        for info in infos.prefix(Int(min(written, UInt32(infos.count)))) {
            let pid = info.process_id
            var detail = rsmi_process_info_t()
            status = lib.rsmi_compute_process_info_by_pid_get(pid, &detail)
            if status == RSMI_STATUS_NOT_FOUND { continue }  // exited meanwhile
            guard status == RSMI_STATUS_SUCCESS else {
                notes.append("pid \(pid): " + ROCmSMIStatus.describe("rsmi_compute_process_info_by_pid_get", status))
                continue
            }
            var indices = [UInt32](repeating: 0, count: Int(max(deviceCount, 1)))
            var n = UInt32(indices.count)
            var devices: [Int] = []
            if lib.rsmi_compute_process_gpus_get(pid, &indices, &n) == RSMI_STATUS_SUCCESS {
                devices = indices.prefix(Int(min(n, UInt32(indices.count)))).map(Int.init).sorted()
            } else if deviceCount == 1 {
                devices = [0]
            }
            processes.append(GPUProcess(pid: Int32(bitPattern: pid), bytes: detail.vram_usage, devices: devices))
        }
        return processes.sorted { $0.pid < $1.pid }
    }
}
