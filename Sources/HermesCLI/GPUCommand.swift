import ArgumentParser
import Foundation
import HermesCore
import HermesDaemon
import HermesGPU
#if canImport(Glibc)
import Glibc
#endif

/// `hermes-runtime gpu [--json] [--watch SECONDS]`: both memory pools of each AMD GPU, the pool models
/// are placed in, and the processes using it.
struct GPUCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpu",
        abstract: "GPU memory report: VRAM and GTT of each AMD GPU, which pool models use, and who uses it."
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Redraw every SECONDS until Ctrl-C (with --json: one JSON line each time).",
                                             valueName: "SECONDS"))
    var watch: Double?

    @Option(name: .long, help: ArgumentHelp("Where to read: auto (rocm_smi, then sysfs), rocm-smi or sysfs.",
                                             visibility: .hidden))
    var source: String = GPUSourcePreference.auto.rawValue

    @Option(name: .customLong("sysfs-root"),
            help: ArgumentHelp("Read sysfs from PATH instead of /sys (implies --source sysfs).", valueName: "PATH",
                               visibility: .hidden))
    var sysfsRoot: String?

    @Option(name: .long, help: ArgumentHelp("Longest wait for rocm_smi, in seconds.", visibility: .hidden))
    var timeout: Double = 2

    func validate() throws {
        if let watch, !(watch >= 0.1 && watch <= 86_400) {
            throw ValidationError("--watch wants a number of seconds from 0.1 to 86400")
        }
        guard let preference = GPUSourcePreference(rawValue: source) else {
            throw ValidationError("--source wants one of: \(GPUSourcePreference.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if !(timeout > 0 && timeout <= 600) { throw ValidationError("--timeout wants seconds from 0 to 600") }
        if sysfsRoot != nil && preference == .rocmSMI {
            throw ValidationError("--sysfs-root cannot go with --source rocm-smi: librocm_smi always reads /sys")
        }
    }

    /// pid -> profile of the servers this root's daemon runs, to name them in the per-process list.
    static func serverPids(_ paths: RuntimePaths) async -> [Int32: String] {
        guard let daemon = try? await ControlClient(paths: paths).call(.GET, "/v1/status", as: DaemonStatus.self, timeout: 2)
        else { return [:] }
        var out: [Int32: String] = [:]
        for s in daemon.servers { if let pid = s.pid { out[pid] = s.profile } }
        return out
    }

    func run() async throws {
        let root = sysfsRoot ?? ProcessInfo.processInfo.environment["HERMES_RUNTIME_SYSFS_ROOT"].flatMap { $0.isEmpty ? nil : $0 }
        let preference = root != nil ? .sysfs : (GPUSourcePreference(rawValue: source) ?? .auto)
        let monitor = GPUMonitor(preference: preference, sysfsRoot: root ?? "/sys",
                                 timeout: .milliseconds(Int(timeout * 1000)))
        if let watch {
            await watchLoop(monitor, every: watch)
            await monitor.close()
            return
        }
        let report: GPUReport
        do {
            report = try await monitor.report(profiles: await Self.serverPids(global.paths()))
        } catch {
            await monitor.close()
            let said = error.libraryOutput.flatMap { $0.isEmpty || !global.verbose ? nil : "librocm_smi said:\n" + $0 }
            let failure = CLIError(error.message, hint: error.hint ?? "try `hermes-runtime gpu` (rocm_smi, then sysfs)", cause: said,
                                   code: error.code.name)
            // A library call still parked in rocm_smi: leave without running its static destructors.
            if monitor.isStuck { leaveNow(printing: "Error: \(failure.description)", code: 1) }
            throw failure
        }
        if global.json {
            printJSON(report)
        } else {
            print(report.text(verbose: global.verbose))
        }
        await monitor.close()
        if monitor.isStuck { leaveNow(printing: nil, code: 0) }
    }

    /// Samples and redraws until SIGINT or SIGTERM.
    func watchLoop(_ monitor: GPUMonitor, every seconds: Double) async {
        let json = global.json, verbose = global.verbose
        let paths = global.paths()
        let loop = Task {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            while !Task.isCancelled {
                var frame: String
                do {
                    let report = try await monitor.report(profiles: await Self.serverPids(paths))
                    if json {
                        frame = (try? encoder.encode(report)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                    } else {
                        frame = report.text(verbose: verbose)
                    }
                } catch {
                    frame = json ? "{\"error\":\(jsonString("\(error)"))}" : "error: \(error)"
                }
                if !json {
                    // Clear and home, then the frame: a redraw in place rather than a scroll.
                    frame = "\u{1B}[H\u{1B}[2J" + frame + "\n\nevery \(seconds) s, \(Self.clock()); Ctrl-C to stop"
                }
                print(frame)
                fflush(nil)
                try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            }
        }
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { loop.cancel() }
            source.resume()
            sources.append(source)
        }
        await loop.value
        sources.forEach { $0.cancel() }
    }

    static func clock() -> String {
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss"
        return f.string(from: Date())
    }
}

/// Flushes and exits without running static destructors, which would tear librocm_smi down under a
/// thread still inside it.
private func leaveNow(printing message: String?, code: Int32) -> Never {
    if let message { printError(message) }
    fflush(nil)
    _exit(code)
}

private func jsonString(_ s: String) -> String {
    (try? JSONEncoder().encode(s)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
}
