import CROCmSMI
import Foundation

/// librocm_smi64, found and loaded at run time (dlopen), never linked: a binary linked to it does not
/// start where the library is missing or lives elsewhere (`/opt/rocm-X/lib` from AMD's own packages,
/// another distribution, a laptop that only runs the CLI against a remote box). The headers still come
/// from `CROCmSMI` at build time; the functions come from ``load(environment:)``.
///
/// Loaded once per process: the library is a process-wide singleton anyway (see ``ROCmSMISession``).
struct ROCmSMILibrary: @unchecked Sendable {
    /// The file that was loaded, and why that one (for `gpu` and `doctor`).
    let path: String
    let why: String

    let rsmi_init: @convention(c) (UInt64) -> rsmi_status_t
    let rsmi_shut_down: @convention(c) () -> rsmi_status_t
    let rsmi_num_monitor_devices: @convention(c) (UnsafeMutablePointer<UInt32>?) -> rsmi_status_t
    let rsmi_dev_name_get: @convention(c) (UInt32, UnsafeMutablePointer<CChar>?, Int) -> rsmi_status_t
    let rsmi_dev_id_get: @convention(c) (UInt32, UnsafeMutablePointer<UInt16>?) -> rsmi_status_t
    let rsmi_dev_pci_id_get: @convention(c) (UInt32, UnsafeMutablePointer<UInt64>?) -> rsmi_status_t
    let rsmi_dev_memory_total_get: @convention(c) (UInt32, rsmi_memory_type_t, UnsafeMutablePointer<UInt64>?) -> rsmi_status_t
    let rsmi_dev_memory_usage_get: @convention(c) (UInt32, rsmi_memory_type_t, UnsafeMutablePointer<UInt64>?) -> rsmi_status_t
    let rsmi_dev_busy_percent_get: @convention(c) (UInt32, UnsafeMutablePointer<UInt32>?) -> rsmi_status_t
    let rsmi_dev_temp_metric_get: @convention(c) (UInt32, UInt32, rsmi_temperature_metric_t, UnsafeMutablePointer<Int64>?) -> rsmi_status_t
    let rsmi_compute_process_info_get: @convention(c) (UnsafeMutablePointer<rsmi_process_info_t>?, UnsafeMutablePointer<UInt32>?) -> rsmi_status_t
    let rsmi_compute_process_info_by_pid_get: @convention(c) (UInt32, UnsafeMutablePointer<rsmi_process_info_t>?) -> rsmi_status_t
    let rsmi_compute_process_gpus_get: @convention(c) (UInt32, UnsafeMutablePointer<UInt32>?, UnsafeMutablePointer<UInt32>?) -> rsmi_status_t
    let rsmi_status_string: @convention(c) (rsmi_status_t, UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> rsmi_status_t

    /// The variable that names the library file (or a folder holding it) to use, before any search.
    static let variable = "HERMES_RUNTIME_ROCM_SMI"

    /// This process's library, or why there is none. Looked up on first use.
    static let shared: Result<ROCmSMILibrary, GPUProbeError> = load(environment: ProcessInfo.processInfo.environment)

    /// Tries each of ``candidates(environment:optDirectory:)`` in order; the first that loads and has
    /// every function wins.
    static func load(environment: [String: String]) -> Result<ROCmSMILibrary, GPUProbeError> {
        var tried: [String] = []
        for candidate in candidates(environment: environment) {
            guard let handle = dlopen(candidate.file, RTLD_NOW | RTLD_LOCAL) else {
                if let explicit = candidate.explicit {
                    let why = dlerror().map { String(cString: $0) } ?? "cannot be loaded"
                    return .failure(GPUProbeError(.unavailable, "\(explicit) names \(candidate.file): \(why)",
                                                  hint: "point \(variable) at librocm_smi64.so, or unset it to search the usual places"))
                }
                tried.append(candidate.file)
                continue
            }
            let path = candidate.file.hasPrefix("/") ? candidate.file : resolvedPath(handle) ?? candidate.file
            if let library = bind(handle, path: path, why: candidate.why) {
                return .success(library)
            }
            tried.append(candidate.file + " (lacks a function)")
            dlclose(handle)
        }
        return .failure(GPUProbeError(
            .unavailable, "librocm_smi64 is not installed (looked for \(tried.joined(separator: ", ")))",
            hint: "install ROCm's rocm-smi-lib (Debian: librocm-smi64-1), or set \(variable) to its path"))
    }

    /// Where to look, in order: the variable (a file, or a folder holding `librocm_smi64.so*`), then
    /// `/opt/rocm/lib` and every `/opt/rocm-VERSION/lib` (newest first), then the dynamic linker's own
    /// search (`LD_LIBRARY_PATH`, ld.so.cache: Debian's package). Pure but for listing folders.
    static func candidates(environment: [String: String], optDirectory: String = "/opt")
        -> [(file: String, why: String, explicit: String?)]
    {
        if let named = environment[variable], !named.isEmpty {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: named, isDirectory: &isDirectory), isDirectory.boolValue {
                let file = libraryFile(in: named) ?? (named as NSString).appendingPathComponent("librocm_smi64.so")
                return [(file, "named by \(variable)", variable)]
            }
            return [(named, "named by \(variable)", variable)]
        }
        var out: [(file: String, why: String, explicit: String?)] = []
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: optDirectory)) ?? []
        let versioned = entries.filter { $0.hasPrefix("rocm-") }
            .sorted { versionKey($0.dropFirst(5)).lexicographicallyPrecedes(versionKey($1.dropFirst(5))) }
            .reversed()
        for folder in (entries.contains("rocm") ? ["rocm"] : []) + versioned {
            let lib = (optDirectory as NSString).appendingPathComponent("\(folder)/lib")
            if let file = libraryFile(in: lib) { out.append((file, "found in \(lib)", nil)) }
        }
        out.append(("librocm_smi64.so.1", "found on the dynamic linker's path", nil))
        out.append(("librocm_smi64.so", "found on the dynamic linker's path", nil))
        return out
    }

    /// `librocm_smi64.so` in `folder`, else the versioned name with the highest number.
    static func libraryFile(in folder: String) -> String? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix("librocm_smi64.so") }
        guard let best = names.contains("librocm_smi64.so") ? "librocm_smi64.so"
                : names.max(by: { versionKey($0.dropFirst(17)).lexicographicallyPrecedes(versionKey($1.dropFirst(17))) })
        else { return nil }
        return (folder as NSString).appendingPathComponent(best)
    }

    /// "7.2.4" -> [7, 2, 4]; anything that is not a number counts as 0.
    static func versionKey(_ text: Substring) -> [Int] {
        text.split(whereSeparator: { !$0.isNumber }).map { Int($0.prefix(9)) ?? 0 }
    }

    /// The file the dynamic linker mapped for a bare name (`librocm_smi64.so.1`), from /proc/self/maps:
    /// glibc's `dladdr` is not visible to Swift without _GNU_SOURCE.
    private static func resolvedPath(_ handle: UnsafeMutableRawPointer) -> String? {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        for line in maps.split(separator: "\n") {
            guard let slash = line.firstIndex(of: "/"), line.contains("librocm_smi64") else { continue }
            return URL(fileURLWithPath: String(line[slash...])).resolvingSymlinksInPath().path
        }
        return nil
    }

    private static func bind(_ handle: UnsafeMutableRawPointer, path: String, why: String) -> ROCmSMILibrary? {
        func f<T>(_ name: String, _ type: T.Type) -> T? {
            dlsym(handle, name).map { unsafeBitCast($0, to: type) }
        }
        guard let i = f("rsmi_init", (@convention(c) (UInt64) -> rsmi_status_t).self),
            let sd = f("rsmi_shut_down", (@convention(c) () -> rsmi_status_t).self),
            let n = f("rsmi_num_monitor_devices", (@convention(c) (UnsafeMutablePointer<UInt32>?) -> rsmi_status_t).self),
            let name = f("rsmi_dev_name_get", (@convention(c) (UInt32, UnsafeMutablePointer<CChar>?, Int) -> rsmi_status_t).self),
            let id = f("rsmi_dev_id_get", (@convention(c) (UInt32, UnsafeMutablePointer<UInt16>?) -> rsmi_status_t).self),
            let pci = f("rsmi_dev_pci_id_get", (@convention(c) (UInt32, UnsafeMutablePointer<UInt64>?) -> rsmi_status_t).self),
            let total = f("rsmi_dev_memory_total_get",
                          (@convention(c) (UInt32, rsmi_memory_type_t, UnsafeMutablePointer<UInt64>?) -> rsmi_status_t).self),
            let usage = f("rsmi_dev_memory_usage_get",
                          (@convention(c) (UInt32, rsmi_memory_type_t, UnsafeMutablePointer<UInt64>?) -> rsmi_status_t).self),
            let busy = f("rsmi_dev_busy_percent_get", (@convention(c) (UInt32, UnsafeMutablePointer<UInt32>?) -> rsmi_status_t).self),
            let temp = f("rsmi_dev_temp_metric_get",
                         (@convention(c) (UInt32, UInt32, rsmi_temperature_metric_t, UnsafeMutablePointer<Int64>?) -> rsmi_status_t).self),
            let procs = f("rsmi_compute_process_info_get",
                          (@convention(c) (UnsafeMutablePointer<rsmi_process_info_t>?, UnsafeMutablePointer<UInt32>?) -> rsmi_status_t).self),
            let byPid = f("rsmi_compute_process_info_by_pid_get",
                          (@convention(c) (UInt32, UnsafeMutablePointer<rsmi_process_info_t>?) -> rsmi_status_t).self),
            let gpus = f("rsmi_compute_process_gpus_get",
                         (@convention(c) (UInt32, UnsafeMutablePointer<UInt32>?, UnsafeMutablePointer<UInt32>?) -> rsmi_status_t).self),
            let text = f("rsmi_status_string",
                         (@convention(c) (rsmi_status_t, UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> rsmi_status_t).self)
        else { return nil }
        return ROCmSMILibrary(
            path: path, why: why, rsmi_init: i, rsmi_shut_down: sd, rsmi_num_monitor_devices: n, rsmi_dev_name_get: name,
            rsmi_dev_id_get: id, rsmi_dev_pci_id_get: pci, rsmi_dev_memory_total_get: total, rsmi_dev_memory_usage_get: usage,
            rsmi_dev_busy_percent_get: busy, rsmi_dev_temp_metric_get: temp, rsmi_compute_process_info_get: procs,
            rsmi_compute_process_info_by_pid_get: byPid, rsmi_compute_process_gpus_get: gpus, rsmi_status_string: text)
    }
}
