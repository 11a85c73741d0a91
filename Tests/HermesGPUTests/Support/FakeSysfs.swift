import Foundation
import HermesTestSupport

let MiB: UInt64 = 1 << 20
let GiB: UInt64 = 1 << 30

/// One fake amdgpu card, laid out as the driver does (and as scripts/gpu/simulate-gfx1151.sh does).
struct FakeCard {
    var card = "card0"
    var vendor = "0x1002"
    var deviceID = "0x1586"
    var pci = "0000:c5:00.0"
    var productName: String?
    var vramTotal: UInt64 = 512 * MiB
    var vramUsed: UInt64 = 96 * MiB
    var gttTotal: UInt64 = 96 * GiB
    var gttUsed: UInt64 = 40 * GiB
    var busy = "37"
    var temperatureMilli = "48000"
    var gpuID: UInt64 = 45678

    /// gfx1151 with the given carve-out and GTT.
    static func strixHalo(vram: UInt64, vramUsed: UInt64 = 96 * MiB, gtt: UInt64, gttUsed: UInt64) -> FakeCard {
        FakeCard(vramTotal: vram, vramUsed: vramUsed, gttTotal: gtt, gttUsed: gttUsed)
    }
}

/// A sysfs tree in a temporary directory, for ``SysfsProbe(root:)``.
struct FakeSysfs {
    let root: URL
    var path: String { root.path }

    /// A tree with these cards and processes (pid -> gpu_id -> bytes). `drm: false` leaves out
    /// `class/drm` altogether, like a machine without a GPU driver.
    static func make(_ cards: [FakeCard], processes: [Int32: [UInt64: UInt64]] = [:], drm: Bool = true) throws -> FakeSysfs {
        let tree = FakeSysfs(root: try TestEnvironment.temporaryDirectory("sysfs"))
        try tree.mkdir("class")
        if drm { try tree.mkdir("class/drm") }
        for (n, card) in cards.enumerated() { try tree.add(card, node: n + 1) }
        for (pid, uses) in processes {
            try tree.mkdir("class/kfd/kfd/proc/\(pid)")
            try tree.write("class/kfd/kfd/proc/\(pid)/pasid", "\(32768 + Int(pid % 1000))\n")
            for (gpuID, bytes) in uses {
                try tree.write("class/kfd/kfd/proc/\(pid)/vram_\(gpuID)", "\(bytes)\n")
            }
        }
        return tree
    }

    func add(_ c: FakeCard, node: Int) throws {
        let dev = "devices/pci0000:00/0000:00:08.1/\(c.pci)"
        try mkdir("\(dev)/drm/\(c.card)")
        try mkdir("\(dev)/hwmon/hwmon\(node)")
        try write("\(dev)/vendor", c.vendor + "\n")
        try write("\(dev)/device", c.deviceID + "\n")
        try write("\(dev)/vbios_version", "113-STRXLGEN-001\n")
        if let name = c.productName { try write("\(dev)/product_name", name + "\n") }
        try write("\(dev)/mem_info_vram_total", "\(c.vramTotal)\n")
        try write("\(dev)/mem_info_vram_used", "\(c.vramUsed)\n")
        try write("\(dev)/mem_info_vis_vram_total", "\(c.vramTotal)\n")
        try write("\(dev)/mem_info_vis_vram_used", "\(c.vramUsed)\n")
        try write("\(dev)/mem_info_gtt_total", "\(c.gttTotal)\n")
        try write("\(dev)/mem_info_gtt_used", "\(c.gttUsed)\n")
        try write("\(dev)/gpu_busy_percent", c.busy + "\n")
        try write("\(dev)/hwmon/hwmon\(node)/name", "amdgpu\n")
        try write("\(dev)/hwmon/hwmon\(node)/temp1_label", "edge\n")
        try write("\(dev)/hwmon/hwmon\(node)/temp1_input", c.temperatureMilli + "\n")
        try link("\(dev)/drm/\(c.card)/device", to: dev)
        if FileManager.default.fileExists(atPath: root.appendingPathComponent("class/drm").path) {
            try link("class/drm/\(c.card)", to: "\(dev)/drm/\(c.card)")
        }
        // KFD topology node for this card.
        let parts = c.pci.split(separator: ":")
        let domain = UInt64(parts[0], radix: 16) ?? 0
        let bus = UInt64(parts[1], radix: 16) ?? 0
        let devFn = parts[2].split(separator: ".")
        let location = (bus << 8) | ((UInt64(devFn[0], radix: 16) ?? 0) << 3) | (UInt64(devFn[1]) ?? 0)
        try mkdir("class/kfd/kfd/topology/nodes/\(node)")
        try write("class/kfd/kfd/topology/nodes/\(node)/gpu_id", "\(c.gpuID)\n")
        try write("class/kfd/kfd/topology/nodes/\(node)/properties",
                  "cpu_cores_count 0\nsimd_count 80\nlocation_id \(location)\ndomain \(domain)\nhive_id 0\n")
        // The CPU node every real topology has.
        try mkdir("class/kfd/kfd/topology/nodes/0")
        try write("class/kfd/kfd/topology/nodes/0/gpu_id", "0\n")
        try write("class/kfd/kfd/topology/nodes/0/properties", "cpu_cores_count 32\nlocation_id 0\ndomain 0\n")
    }

    /// The device directory of a card added with ``make(_:processes:drm:)``.
    func deviceDirectory(_ c: FakeCard) -> String { "devices/pci0000:00/0000:00:08.1/\(c.pci)" }

    func mkdir(_ relative: String) throws {
        try FileManager.default.createDirectory(at: root.appendingPathComponent(relative), withIntermediateDirectories: true)
    }

    func write(_ relative: String, _ text: String) throws {
        try Data(text.utf8).write(to: root.appendingPathComponent(relative))
    }

    func writeBytes(_ relative: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: root.appendingPathComponent(relative))
    }

    func remove(_ relative: String) throws {
        try FileManager.default.removeItem(at: root.appendingPathComponent(relative))
    }

    /// An absolute symlink, as the simulation script makes (the PCI address must be in the target).
    func link(_ relative: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent(relative).path,
                                                   withDestinationPath: root.appendingPathComponent(target).path)
    }

    /// A `/proc/meminfo` with this much available.
    func meminfo(availableBytes: UInt64) throws -> String {
        let url = root.appendingPathComponent("meminfo")
        try Data("MemTotal:       131072000 kB\nMemFree:        1000 kB\nMemAvailable:   \(availableBytes / 1024) kB\n".utf8)
            .write(to: url)
        return url.path
    }

    func cleanUp() { try? FileManager.default.removeItem(at: root) }
}
