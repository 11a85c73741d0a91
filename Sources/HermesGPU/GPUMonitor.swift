/// Which source a ``GPUMonitor`` asks.
public enum GPUSourcePreference: String, Sendable, CaseIterable, Codable {
    /// rocm_smi, falling back to sysfs when it fails or finds nothing.
    case auto
    /// rocm_smi only; its failure is the caller's error.
    case rocmSMI = "rocm-smi"
    /// sysfs only.
    case sysfs
}

/// The one thing the rest of hermes-runtime asks about the GPU: a report (for `gpu`, `status` and the
/// metrics) and a fit (for the supervisor's pre-flight check). Tries rocm_smi, falls back to sysfs.
///
/// Keep one monitor for the life of the process: the library is initialized once and shut down by
/// ``close()``. Every library call is bounded by the timeout, so a report never hangs its caller; the
/// daemon should still sample in the background and let request paths read the cached report.
public final class GPUMonitor: Sendable {
    /// The source(s) asked.
    public let preference: GPUSourcePreference
    /// The sysfs reader (fallback, or the only source).
    public let sysfs: SysfsProbe
    /// Where `MemAvailable` is read from.
    public let meminfoPath: String
    let library: ROCmSMISession

    /// - Parameters:
    ///   - sysfsRoot: where sysfs is (tests and `--sysfs-root` point it at a fixture tree).
    ///   - timeout: the longest a rocm_smi probe may take before the caller gives up on it.
    public init(preference: GPUSourcePreference = .auto, sysfsRoot: String = "/sys",
                meminfoPath: String = "/proc/meminfo", timeout: Duration = .seconds(2)) {
        self.preference = preference
        self.sysfs = SysfsProbe(root: sysfsRoot)
        self.meminfoPath = meminfoPath
        self.library = ROCmSMISession(timeout: timeout)
    }

    /// A fresh report; `profiles` (pid -> profile name, from the supervisor) names the processes.
    /// Throws only when rocm_smi is forced (``GPUSourcePreference/rocmSMI``) and fails for another reason
    /// than "no GPU"; `auto` turns a library failure into a note and answers from sysfs.
    public func report(profiles: [Int32: String] = [:]) async throws(GPUProbeError) -> GPUReport {
        let available = SystemMemory.availableBytes(meminfoPath: meminfoPath)
        switch preference {
        case .sysfs:
            var r = GPUReport(source: .sysfs, sample: sysfs.sample(), systemMemoryAvailableBytes: available).naming(profiles)
            r.sourceDetail = "sysfs at \(sysfs.root) (asked for alone)"
            return r
        case .rocmSMI:
            let sample: GPUSample
            do {
                sample = try await library.sample()
            } catch where error.code == .noDevice {
                // No GPU is an answer, not a failure.
                return .noDevice(reason: error.message, systemMemoryAvailableBytes: available)
            }
            return Self.viaLibrary(GPUReport(source: .rocmSMI, sample: sample, systemMemoryAvailableBytes: available).naming(profiles))
        case .auto:
            var notes: [String] = []
            do {
                let sample = try await library.sample()
                if !sample.devices.isEmpty {
                    return Self.viaLibrary(GPUReport(source: .rocmSMI, sample: sample, systemMemoryAvailableBytes: available).naming(profiles))
                }
                notes.append("rocm_smi: " + (sample.reason ?? "no device"))
            } catch {
                notes.append("rocm_smi: " + error.description)
            }
            let sample = sysfs.sample()
            if !sample.devices.isEmpty { notes.append("read from sysfs instead") }
            var r = GPUReport(source: .sysfs, sample: sample, systemMemoryAvailableBytes: available, notes: notes).naming(profiles)
            r.sourceDetail = "sysfs, because " + (notes.first ?? "rocm_smi did not answer")
            return r
        }
    }

    /// The rocm_smi library's file and how it was found, on a report it answered.
    static func viaLibrary(_ report: GPUReport) -> GPUReport {
        var r = report
        if case .success(let lib) = ROCmSMILibrary.shared { r.sourceDetail = "rocm_smi, \(lib.path) (\(lib.why))" }
        return r
    }

    /// How this process finds librocm_smi64, or why it cannot: for `doctor`.
    public static var libraryStatus: Result<String, GPUProbeError> {
        ROCmSMILibrary.shared.map { "\($0.path) (\($0.why))" }
    }

    /// The supervisor's pre-flight question: which pool a model goes to and how many bytes it can take.
    /// Nil when there is no AMD GPU (or none could be read), so the caller uses system memory.
    public func fit() async -> GPUFit? {
        try? await report().fit
    }

    /// Whether a rocm_smi call is stuck past its timeout (see ``ROCmSMISession/isStuck``).
    public var isStuck: Bool { library.isStuck }

    /// Shuts rocm_smi down if it was started.
    public func close() async {
        await library.close()
    }
}

/// System RAM the kernel considers available.
public enum SystemMemory {
    /// `MemAvailable` in bytes, or nil when the file cannot be read or parsed.
    public static func availableBytes(meminfoPath: String = "/proc/meminfo") -> UInt64? {
        guard case .success(let text) = SysfsFiles.read(meminfoPath) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let value = UInt64(fields[1]) else { return nil }
            let unit = fields.count >= 3 ? fields[2] : "kB"
            let (bytes, overflow) = value.multipliedReportingOverflow(by: unit == "kB" ? 1024 : 1)
            return overflow ? nil : bytes
        }
        return nil
    }
}

extension GPUMonitor {
    /// The monitor a long-running process uses: rocm_smi then sysfs, unless `HERMES_RUNTIME_SYSFS_ROOT`
    /// points at another sysfs tree (a simulated gfx1151 in tests and demos), which is then read alone.
    public static func forProcess(environment: [String: String], preference: GPUSourcePreference = .auto) -> GPUMonitor {
        if let root = environment["HERMES_RUNTIME_SYSFS_ROOT"], !root.isEmpty {
            return GPUMonitor(preference: .sysfs, sysfsRoot: root)
        }
        return GPUMonitor(preference: preference)
    }
}
