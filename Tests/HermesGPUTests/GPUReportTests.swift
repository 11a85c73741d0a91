import Foundation
import Testing
@testable import HermesGPU

@Suite("report: JSON, text, names, metrics")
struct GPUReportTests {
    static func strixHaloReport() -> GPUReport {
        let sample = GPUSample(devices: [GPUSample.Device(
            index: 0, card: "card0", deviceID: 0x1586, pciAddress: "0000:c5:00.0",
            vramTotal: 512 * MiB, vramUsed: 96 * MiB, visibleVRAMTotal: 512 * MiB, visibleVRAMUsed: 96 * MiB,
            gttTotal: 96 * GiB, gttUsed: 40 * GiB, busyPercent: 37, edgeTemperatureCelsius: 48.5)],
            processes: [GPUProcess(pid: 4242, bytes: 8 * GiB, devices: [0]), GPUProcess(pid: 99, bytes: 1 * GiB, devices: [0])])
        return GPUReport(source: .rocmSMI, sample: sample, systemMemoryAvailableBytes: 100 * GiB)
    }

    static func encode(_ r: GPUReport) throws -> [String: Any] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase  // as the CLI prints it
        let data = try encoder.encode(r)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("JSON keys as the CLI prints them")
    func jsonShape() throws {
        let json = try Self.encode(Self.strixHaloReport())
        #expect(json["source"] as? String == "rocm_smi")
        let device = try #require((json["devices"] as? [[String: Any]])?.first)
        #expect(Set(device.keys).isSuperset(of: [
            "index", "name", "device_id", "pci_address", "vram", "visible_vram", "gtt", "busy_percent",
            "edge_temperature_celsius", "integrated", "model_pool", "model_pool_reason", "model_memory", "problems",
        ]))
        #expect(device["model_pool"] as? String == "gtt")
        let gtt = try #require(device["gtt"] as? [String: Any])
        #expect((gtt["total_bytes"] as? NSNumber)?.uint64Value == 96 * GiB)
        #expect((gtt["used_bytes"] as? NSNumber)?.uint64Value == 40 * GiB)
        #expect((gtt["free_bytes"] as? NSNumber)?.uint64Value == 56 * GiB)
        let processes = try #require(json["processes"] as? [[String: Any]])
        #expect(processes.count == 2)
    }

    @Test("no device: an empty list and the reason")
    func jsonNoDevice() throws {
        let json = try Self.encode(.noDevice(reason: "no AMD GPU: /sys/class/drm does not exist"))
        #expect((json["devices"] as? [Any])?.isEmpty == true)
        #expect(json["reason"] as? String == "no AMD GPU: /sys/class/drm does not exist")
    }

    @Test("a report survives a JSON round trip")
    func roundTrip() throws {
        let r = Self.strixHaloReport()
        let back = try JSONDecoder().decode(GPUReport.self, from: JSONEncoder().encode(r))
        #expect(back == r)
    }

    @Test("processes get the supervisor's profile names by pid")
    func naming() {
        let named = Self.strixHaloReport().naming([4242: "qwen3-coder", 1: "elsewhere"])
        #expect(named.processes.map(\.profile) == ["qwen3-coder", nil])
        #expect(named.text().contains("qwen3-coder"))
    }

    @Test("the table: pools, the model pool marked, busy, temperature, room, processes")
    func table() {
        let text = Self.strixHaloReport().naming([4242: "qwen3-coder"]).text()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "GPU 0: AMD Radeon 8050S/8060S Graphics (Strix Halo)  [0x1586, 0000:c5:00.0, card0]  APU, via rocm_smi")
        #expect(lines.contains { $0.hasPrefix("  VRAM") && $0.contains("512 MiB") && $0.contains("416 MiB") && !$0.contains("<- models") })
        #expect(lines.contains { $0.hasPrefix("  GTT") && $0.contains("96.0 GiB") && $0.contains("56.0 GiB") && $0.hasSuffix("<- models") })
        #expect(lines.contains("  busy 37%   edge 48.5 °C"))
        #expect(lines.contains { $0.hasPrefix("  models use GTT: ") })
        #expect(lines.contains("  room for a model: 56.0 GiB"))
        #expect(lines.contains { $0.hasPrefix("4242") && $0.contains("qwen3-coder") && $0.contains("8.0 GiB") })
    }

    @Test("no device: one line")
    func textNoDevice() {
        let r = GPUReport.noDevice(reason: "no AMD GPU: /sys/class/drm does not exist", notes: ["rocm_smi: no"])
        #expect(r.text() == "no AMD GPU: /sys/class/drm does not exist")
        #expect(r.text(verbose: true).contains("note: rocm_smi: no"))
    }

    @Test("metrics: both pools per device, busy and temperature; never a VRAM+GTT sum")
    func metrics() {
        let recorder = RecordingMetrics()
        Self.strixHaloReport().publishMetrics(factory: recorder)
        let dev = "0000:c5:00.0"
        #expect(recorder.value("hermes_gpu_memory_total_bytes", ["device": dev, "pool": "vram"]) == Double(512 * MiB))
        #expect(recorder.value("hermes_gpu_memory_used_bytes", ["device": dev, "pool": "vram"]) == Double(96 * MiB))
        #expect(recorder.value("hermes_gpu_memory_total_bytes", ["device": dev, "pool": "vis_vram"]) == Double(512 * MiB))
        #expect(recorder.value("hermes_gpu_memory_total_bytes", ["device": dev, "pool": "gtt"]) == Double(96 * GiB))
        #expect(recorder.value("hermes_gpu_memory_used_bytes", ["device": dev, "pool": "gtt"]) == Double(40 * GiB))
        #expect(recorder.value("hermes_gpu_busy_percent", ["device": dev]) == 37)
        #expect(recorder.value("hermes_gpu_temperature_celsius", ["device": dev]) == 48.5)
        #expect(recorder.keys.count == 8)
    }

    @Test("no device publishes nothing")
    func metricsNoDevice() {
        let recorder = RecordingMetrics()
        GPUReport.noDevice(reason: "none").publishMetrics(factory: recorder)
        #expect(recorder.keys.isEmpty)
    }
}
