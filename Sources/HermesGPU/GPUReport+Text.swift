import Foundation
import HermesCore

extension GPUReport {
    /// The report for a person: one line when there is no AMD GPU, else a table per device and the
    /// processes. `verbose` adds the notes (a source that failed before the fallback answered, ...).
    public func text(verbose: Bool = false) -> String {
        var out: [String] = []
        guard !devices.isEmpty else {
            out.append(reason ?? "no AMD GPU found")
            if verbose { out += notes.map { "  note: \($0)" } }
            return out.joined(separator: "\n")
        }
        for device in devices {
            out += Self.lines(for: device, source: source, systemAvailable: systemMemoryAvailableBytes)
            out.append("")
        }
        if processes.isEmpty {
            out.append("no process holds GPU memory")
        } else {
            out.append(Self.row(["pid", "profile", "GPU memory", "devices"], widths: [-8, -24, 12, -8]))
            for p in processes {
                out.append(Self.row([String(p.pid), p.profile ?? "-", ByteCount.format(p.bytes),
                                     p.devices.map(String.init).joined(separator: ",")], widths: [-8, -24, 12, -8]))
            }
        }
        if let sourceDetail { out.append("source: " + sourceDetail) }
        if verbose { out += notes.map { "note: \($0)" } }
        return out.joined(separator: "\n")
    }

    static func lines(for d: GPUDevice, source: GPUSource?, systemAvailable: UInt64?) -> [String] {
        var ids = [d.deviceID, d.pciAddress, d.card].compactMap { $0 }.joined(separator: ", ")
        if !ids.isEmpty { ids = "  [\(ids)]" }
        var out = ["GPU \(d.index): \(d.name)\(ids)  \(d.integrated ? "APU" : "discrete")"
                   + (source.map { ", via \($0.rawValue)" } ?? "")]
        let widths = [-16, 10, 10, 10, -10]
        out.append("  " + row(["pool", "total", "used", "free", ""], widths: widths))
        for pool in GPUMemoryPool.allCases {
            guard let u = d.usage(of: pool) else { continue }
            let mark = pool == d.modelPool ? "<- models" : ""
            out.append("  " + row([pool.displayName, ByteCount.format(u.totalBytes), ByteCount.format(u.usedBytes),
                                   ByteCount.format(u.freeBytes), mark], widths: widths))
        }
        var load: [String] = []
        if let busy = d.busyPercent { load.append("busy \(busy)%") }
        if let c = d.edgeTemperatureCelsius { load.append("edge \(String(format: "%.1f", c)) °C") }
        if !load.isEmpty { out.append("  " + load.joined(separator: "   ")) }
        if let pool = d.modelPool {
            out.append("  models use \(pool.displayName): \(d.modelPoolReason)")
        } else {
            out.append("  models use: unknown (\(d.modelPoolReason))")
        }
        if let fit = GPUFit(device: d, systemMemoryAvailableBytes: systemAvailable) {
            var room = "  room for a model: \(ByteCount.format(fit.usableBytes))"
            if let available = fit.systemMemoryAvailableBytes, available < fit.freeBytes {
                room += " (GTT has \(ByteCount.format(fit.freeBytes)) free, but GTT is system RAM and only "
                    + "\(ByteCount.format(available)) of it is available)"
            }
            out.append(room)
        }
        out += d.problems.map { "  problem: \($0)" }
        return out
    }

    /// Cells padded to widths: negative = left-aligned, positive = right-aligned.
    static func row(_ cells: [String], widths: [Int]) -> String {
        zip(cells, widths).map { cell, width in
            let pad = String(repeating: " ", count: max(0, abs(width) - cell.count))
            return width < 0 ? cell + pad : pad + cell
        }.joined(separator: " ").replacing(/\s+$/, with: "")
    }
}
