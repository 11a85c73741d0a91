import ArgumentParser
import Foundation
import HermesGPU

/// A failure for a person, printed without the usage text.
struct GPUBenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `hermes-bench gpu-probe`: the time of one full GPU probe, via sysfs and via librocm_smi.
///
/// Outside a machine with an AMD GPU, run it under the simulation so both paths have a device:
/// `scripts/gpu/simulate-gfx1151.sh --process 4242:8G -- .build/release/hermes-bench gpu-probe --output FILE`
/// (or give `--sysfs-root` a tree from `simulate-gfx1151.sh --tree-only DIR` for the sysfs path alone).
struct GPUProbeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpu-probe",
        abstract: "Time one full GPU probe (sysfs and librocm_smi): min/median/p99 per probe."
    )

    @Option(name: .customLong("sysfs-root"), help: ArgumentHelp("The sysfs tree for the sysfs path.", valueName: "PATH"))
    var sysfsRoot = "/sys"

    @Option(help: "Timed probes per path.")
    var iterations = 2000

    @Option(help: "Untimed probes first, per path.")
    var warmup = 100

    @Option(help: ArgumentHelp("Write the results as JSON here.", valueName: "PATH"))
    var output: String?

    @Flag(name: .customLong("no-library"), help: "Skip the librocm_smi path.")
    var noLibrary = false

    struct Row: Codable {
        var name: String
        var iterations: Int
        var minUs: Double
        var medianUs: Double
        var p99Us: Double
        var maxUs: Double
        var meanUs: Double
        var failures: Int
    }

    struct Results: Codable {
        var benchmark = "gpu-probe"
        var date: String
        var build: String
        var cores: Int
        var sysfsRoot: String
        var iterations: Int
        var results: [Row]
        var notes: [String]
    }

    func validate() throws {
        guard iterations >= 10 else { throw ValidationError("--iterations wants at least 10") }
        guard warmup >= 0 else { throw ValidationError("--warmup cannot be negative") }
    }

    func run() async throws {
        var rows: [Row] = []
        var notes: [String] = []

        let probe = SysfsProbe(root: sysfsRoot)
        let first = probe.sample()
        guard !first.devices.isEmpty else {
            throw GPUBenchError("""
                no AMD GPU under \(sysfsRoot) (\(first.reason ?? "?")): run under \
                scripts/gpu/simulate-gfx1151.sh, or pass --sysfs-root with a tree from its --tree-only DIR
                """)
        }
        rows.append(time("sysfs: SysfsProbe.sample()") { probe.sample().devices.isEmpty })
        rows.append(time("sysfs: sample + APU policy + MemAvailable") {
            GPUReport(source: .sysfs, sample: probe.sample(), systemMemoryAvailableBytes: SystemMemory.availableBytes())
                .devices.isEmpty
        })

        if !noLibrary {
            let session = ROCmSMISession(timeout: .seconds(2))
            let clock = ContinuousClock()
            let start = clock.now
            do {
                let sample = try await session.sample()
                let cold = Self.microseconds(start.duration(to: clock.now))
                rows.append(Row(name: "rocm_smi: first probe (rsmi_init + probe)", iterations: 1, minUs: cold, medianUs: cold,
                                p99Us: cold, maxUs: cold, meanUs: cold, failures: sample.devices.isEmpty ? 1 : 0))
                var inside: [Duration] = []
                inside.reserveCapacity(iterations + warmup)
                rows.append(await timeAsync("rocm_smi: ROCmSMISession.sample()") {
                    let failed = (try? await session.sample())?.devices.isEmpty ?? true
                    if let d = session.lastCallDuration { inside.append(d) }
                    return failed
                })
                // The same probes, counting only the library's own time on its thread (the rest of the
                // row above is the hand-over to that thread and back).
                rows.append(Self.row("rocm_smi: library calls alone (same probes)", Array(inside.suffix(iterations)), failures: 0))
            } catch {
                notes.append("librocm_smi path not timed: \(error.description)")
            }
            await session.close()

            let monitor = GPUMonitor(preference: .auto, sysfsRoot: sysfsRoot)
            rows.append(await timeAsync("GPUMonitor.report() (auto: rocm_smi, sysfs fallback)") {
                ((try? await monitor.report())?.devices.isEmpty ?? true)
            })
            await monitor.close()
        }

        print(Self.table(rows))
        for note in notes { print("note: \(note)") }
        if let output {
            #if DEBUG
            let build = "debug"
            #else
            let build = "release"
            #endif
            let results = Results(date: ISO8601DateFormatter().string(from: Date()), build: build,
                                  cores: ProcessInfo.processInfo.activeProcessorCount, sysfsRoot: sysfsRoot,
                                  iterations: iterations, results: rows, notes: notes)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try encoder.encode(results).write(to: URL(fileURLWithPath: output))
            print("results written to \(output)")
        }
    }

    /// Times `body` `iterations` times after `warmup` untimed runs; `body` returns true on a failed probe.
    func time(_ name: String, _ body: () -> Bool) -> Row {
        for _ in 0..<warmup { _ = body() }
        let clock = ContinuousClock()
        var samples: [Duration] = []
        samples.reserveCapacity(iterations)
        var failures = 0
        for _ in 0..<iterations {
            var failed = false
            samples.append(clock.measure { failed = body() })
            if failed { failures += 1 }
        }
        return Self.row(name, samples, failures: failures)
    }

    func timeAsync(_ name: String, _ body: () async -> Bool) async -> Row {
        for _ in 0..<warmup { _ = await body() }
        let clock = ContinuousClock()
        var samples: [Duration] = []
        samples.reserveCapacity(iterations)
        var failures = 0
        for _ in 0..<iterations {
            let start = clock.now
            let failed = await body()
            samples.append(start.duration(to: clock.now))
            if failed { failures += 1 }
        }
        return Self.row(name, samples, failures: failures)
    }

    static func row(_ name: String, _ samples: [Duration], failures: Int) -> Row {
        let us = samples.map(microseconds).sorted()
        let p99 = us[max(0, Int((Double(us.count) * 0.99).rounded(.up)) - 1)]
        return Row(name: name, iterations: us.count, minUs: us[0], medianUs: us[us.count / 2], p99Us: p99,
                   maxUs: us[us.count - 1], meanUs: us.reduce(0, +) / Double(us.count), failures: failures)
    }

    static func microseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
    }

    static func table(_ rows: [Row]) -> String {
        let nameWidth = max(10, rows.map(\.name.count).max() ?? 0)
        func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
            let p = String(repeating: " ", count: max(0, w - s.count))
            return left ? s + p : p + s
        }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var lines = [pad("probe", nameWidth, left: true) + "  " + ["n", "min µs", "median µs", "p99 µs", "max µs", "failed"]
            .map { pad($0, 10) }.joined(separator: " ")]
        for r in rows {
            lines.append(pad(r.name, nameWidth, left: true) + "  " + [String(r.iterations), f(r.minUs), f(r.medianUs), f(r.p99Us),
                                                                     f(r.maxUs), String(r.failures)].map { pad($0, 10) }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}
