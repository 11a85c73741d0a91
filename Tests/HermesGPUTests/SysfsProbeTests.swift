import Foundation
import Testing
@testable import HermesGPU

@Suite("sysfs probe on fixture trees")
struct SysfsProbeTests {
    func report(_ tree: FakeSysfs, available: UInt64? = nil) throws -> GPUReport {
        let sample = SysfsProbe(root: tree.path).sample()
        return GPUReport(source: .sysfs, sample: sample, systemMemoryAvailableBytes: available)
    }

    @Test("gfx1151, 512 MiB carve-out + 96 GiB GTT: both pools, models in GTT, no double counting")
    func strixHalo512M() throws {
        let card = FakeCard.strixHalo(vram: 512 * MiB, gtt: 96 * GiB, gttUsed: 40 * GiB)
        let tree = try FakeSysfs.make([card], processes: [4242: [45678: 8 * GiB]])
        defer { tree.cleanUp() }
        let r = try report(tree, available: 100 * GiB)

        #expect(r.source == .sysfs)
        #expect(r.reason == nil)
        let d = try #require(r.devices.first)
        #expect(r.devices.count == 1)
        #expect(d.card == "card0")
        #expect(d.deviceID == "0x1586")
        #expect(d.pciAddress == "0000:c5:00.0")
        #expect(d.name == "AMD Radeon 8050S/8060S Graphics (Strix Halo)")
        #expect(d.vram == GPUMemoryUsage(totalBytes: 512 * MiB, usedBytes: 96 * MiB))
        #expect(d.visibleVRAM == GPUMemoryUsage(totalBytes: 512 * MiB, usedBytes: 96 * MiB))
        #expect(d.gtt == GPUMemoryUsage(totalBytes: 96 * GiB, usedBytes: 40 * GiB))
        #expect(d.busyPercent == 37)
        #expect(d.edgeTemperatureCelsius == 48.0)
        #expect(d.integrated)
        #expect(d.modelPool == .gtt)
        #expect(d.modelMemory == GPUMemoryUsage(totalBytes: 96 * GiB, usedBytes: 40 * GiB))
        #expect(d.modelMemory?.freeBytes == 56 * GiB)
        #expect(d.problems.isEmpty)
        #expect(r.processes == [GPUProcess(pid: 4242, bytes: 8 * GiB, devices: [0])])

        let fit = try #require(r.fit)
        #expect(fit.pool == .gtt)
        #expect(fit.freeBytes == 56 * GiB)
        // Never VRAM + GTT.
        #expect(fit.totalBytes == 96 * GiB)
        #expect(fit.usableBytes == 56 * GiB)
        #expect(fit.fits(50 * GiB))
        #expect(!fit.fits(57 * GiB))
    }

    @Test("GTT is system RAM: a model placed in GTT gets no more than MemAvailable")
    func gttLimitedBySystemMemory() throws {
        let tree = try FakeSysfs.make([FakeCard.strixHalo(vram: 512 * MiB, gtt: 96 * GiB, gttUsed: 40 * GiB)])
        defer { tree.cleanUp() }
        let meminfo = try tree.meminfo(availableBytes: 20 * GiB)
        let available = try #require(SystemMemory.availableBytes(meminfoPath: meminfo))
        #expect(available == 20 * GiB)
        let fit = try #require(try report(tree, available: available).fit)
        #expect(fit.freeBytes == 56 * GiB)
        #expect(fit.systemMemoryAvailableBytes == 20 * GiB)
        #expect(fit.usableBytes == 20 * GiB)
    }

    @Test("gfx1151, 64 GiB carve-out + 32 GiB GTT: models in the carve-out (VRAM)")
    func strixHalo64G() throws {
        let card = FakeCard.strixHalo(vram: 64 * GiB, vramUsed: 10 * GiB, gtt: 32 * GiB, gttUsed: 1 * GiB)
        let tree = try FakeSysfs.make([card])
        defer { tree.cleanUp() }
        let r = try report(tree, available: 50 * GiB)
        let d = try #require(r.devices.first)
        #expect(d.integrated)
        #expect(d.modelPool == .vram)
        #expect(d.modelMemory == GPUMemoryUsage(totalBytes: 64 * GiB, usedBytes: 10 * GiB))
        let fit = try #require(r.fit)
        #expect(fit.pool == .vram)
        #expect(fit.usableBytes == 54 * GiB)
        // The carve-out is reserved at boot, not shared with the CPU: MemAvailable does not bound it.
        #expect(fit.systemMemoryAvailableBytes == nil)
    }

    @Test("a discrete card: VRAM, its product name, not integrated")
    func discreteCard() throws {
        var card = FakeCard(deviceID: "0x744c", pci: "0000:03:00.0", productName: "AMD Radeon RX 7900 XTX",
                            vramTotal: 24 * GiB, vramUsed: 2 * GiB, gttTotal: 32 * GiB, gttUsed: 100 * MiB)
        card.gpuID = 1111
        let tree = try FakeSysfs.make([card], processes: [77: [1111: 3 * GiB]])
        defer { tree.cleanUp() }
        let r = try report(tree, available: 8 * GiB)
        let d = try #require(r.devices.first)
        #expect(d.name == "AMD Radeon RX 7900 XTX")
        #expect(d.pciAddress == "0000:03:00.0")
        #expect(!d.integrated)
        #expect(d.modelPool == .vram)
        #expect(r.fit?.usableBytes == 22 * GiB)
        #expect(r.processes == [GPUProcess(pid: 77, bytes: 3 * GiB, devices: [0])])
    }

    @Test("an APU and a discrete eGPU: each decided on its own, the fit names the roomier one")
    func twoCards() throws {
        let apu = FakeCard.strixHalo(vram: 512 * MiB, gtt: 96 * GiB, gttUsed: 90 * GiB)
        var egpu = FakeCard(card: "card1", deviceID: "0x744c", pci: "0000:03:00.0", vramTotal: 24 * GiB, vramUsed: 0,
                            gttTotal: 32 * GiB, gttUsed: 0)
        egpu.gpuID = 2222
        let tree = try FakeSysfs.make([apu, egpu], processes: [10: [45678: 1 * GiB, 2222: 2 * GiB]])
        defer { tree.cleanUp() }
        let r = try report(tree, available: 100 * GiB)
        #expect(r.devices.map(\.modelPool) == [.gtt, .vram])
        #expect(r.devices.map(\.card) == ["card0", "card1"])
        #expect(r.fit?.deviceIndex == 1)
        #expect(r.processes == [GPUProcess(pid: 10, bytes: 3 * GiB, devices: [0, 1])])
    }

    @Test("no card: no drm directory, an empty one, or only another vendor's card")
    func noCard() throws {
        let none = try FakeSysfs.make([], drm: false)
        defer { none.cleanUp() }
        let r1 = try report(none)
        #expect(r1.devices.isEmpty)
        #expect(r1.source == nil)
        #expect(r1.reason?.hasPrefix("no AMD GPU") == true)
        #expect(r1.reason?.contains("does not exist") == true)
        #expect(r1.fit == nil)

        let empty = try FakeSysfs.make([])
        defer { empty.cleanUp() }
        #expect(try report(empty).reason == "no AMD GPU: no DRM card under \(empty.path)/class/drm")

        let intel = try FakeSysfs.make([FakeCard(vendor: "0x8086", deviceID: "0x56a0", productName: "Intel Arc")])
        defer { intel.cleanUp() }
        let r3 = try report(intel)
        #expect(r3.devices.isEmpty)
        #expect(r3.reason?.contains("no AMD GPU among 1 DRM card(s)") == true)
        #expect(r3.fit == nil)
    }

    @Test("connectors (card0-DP-1) and render nodes are not cards")
    func connectorsIgnored() throws {
        let tree = try FakeSysfs.make([FakeCard()])
        defer { tree.cleanUp() }
        try tree.mkdir("class/drm/card0-DP-1")
        try tree.mkdir("class/drm/renderD128")
        try tree.write("class/drm/version", "drm 1.1.0\n")
        #expect(try report(tree).devices.count == 1)
    }

    @Test("a garbage VRAM size: a clear problem, no pool, no fit, no crash")
    func garbageVRAM() throws {
        let card = FakeCard()
        let tree = try FakeSysfs.make([card])
        defer { tree.cleanUp() }
        try tree.write(tree.deviceDirectory(card) + "/mem_info_vram_total", "garbage\n")
        let r = try report(tree)
        let d = try #require(r.devices.first)
        #expect(d.problems == ["card0: mem_info_vram_total: expected a number, found 'garbage'"])
        #expect(d.vram == nil)
        #expect(d.modelPool == nil)
        #expect(d.modelMemory == nil)
        #expect(r.fit == nil)
        #expect(r.text().contains("problem: card0: mem_info_vram_total"))
    }

    @Test("an unreadable GTT counter (a directory in its place): the pool is named, its room is unknown")
    func unreadableGTTUsed() throws {
        let card = FakeCard()
        let tree = try FakeSysfs.make([card])
        defer { tree.cleanUp() }
        try tree.remove(tree.deviceDirectory(card) + "/mem_info_gtt_used")
        try tree.mkdir(tree.deviceDirectory(card) + "/mem_info_gtt_used")
        let d = try #require(try report(tree).devices.first)
        #expect(d.problems.contains("card0: mem_info_gtt_used: is a directory, not a file"))
        #expect(d.modelPool == .gtt)
        #expect(d.modelMemory == nil)
        #expect(d.gtt == nil)
        #expect(GPUFit(device: d, systemMemoryAvailableBytes: nil) == nil)
    }

    @Test("a missing GTT size: VRAM, said so")
    func missingGTT() throws {
        let card = FakeCard()
        let tree = try FakeSysfs.make([card])
        defer { tree.cleanUp() }
        try tree.remove(tree.deviceDirectory(card) + "/mem_info_gtt_total")
        let d = try #require(try report(tree).devices.first)
        #expect(d.problems == ["card0: mem_info_gtt_total: missing"])
        #expect(d.modelPool == .vram)
        #expect(d.modelPoolReason.contains("GTT size unknown"))
    }

    @Test("binary junk, empty files, overflowing numbers and bad temperatures never crash", arguments: [
        ("mem_info_vram_used", [UInt8]([0xFF, 0x00, 0xFE, 0x41, 0x0A])),
        ("mem_info_gtt_total", [UInt8]()),
        ("mem_info_gtt_total", Array("99999999999999999999999\n".utf8)),
        ("mem_info_vram_total", Array("-5\n".utf8)),
        ("device", Array("not-hex\n".utf8)),
        ("gpu_busy_percent", Array("lots\n".utf8)),
        ("hwmon/hwmon1/temp1_input", Array("hot\n".utf8)),
    ])
    func junk(file: String, bytes: [UInt8]) throws {
        let card = FakeCard()
        let tree = try FakeSysfs.make([card], processes: [5: [45678: 1 * GiB]])
        defer { tree.cleanUp() }
        try tree.writeBytes(tree.deviceDirectory(card) + "/" + file, bytes)
        let r = try report(tree)
        let d = try #require(r.devices.first)
        #expect(d.problems.count == 1)
        #expect(d.problems.first?.hasPrefix("card0: \(file): ") == true)
        // The rest of the report still renders and encodes.
        #expect(!r.text().isEmpty)
        #expect(try JSONEncoder().encode(r).count > 0)
    }

    @Test("a binary vendor file: the card is not vouched for as AMD")
    func junkVendor() throws {
        let card = FakeCard()
        let tree = try FakeSysfs.make([card])
        defer { tree.cleanUp() }
        try tree.writeBytes(tree.deviceDirectory(card) + "/vendor", [0x00, 0x01, 0xFF])
        let r = try report(tree)
        #expect(r.devices.isEmpty)
        #expect(r.reason?.hasPrefix("no AMD GPU") == true)
    }

    @Test("the largest counters the kernel could write still add up without trapping")
    func hugeCounters() throws {
        let card = FakeCard(vramTotal: .max, vramUsed: .max, gttTotal: .max, gttUsed: 1)
        let tree = try FakeSysfs.make([card], processes: [9: [45678: .max]])
        defer { tree.cleanUp() }
        let r = try report(tree, available: .max)
        let d = try #require(r.devices.first)
        #expect(d.vram?.freeBytes == 0)
        // A known APU whose carve-out is not smaller than GTT: the carve-out.
        #expect(d.modelPool == .vram)
        #expect(!r.text().isEmpty)
        let recorder = RecordingMetrics()
        r.publishMetrics(factory: recorder)
        #expect(recorder.value("hermes_gpu_memory_total_bytes", ["device": "0000:c5:00.0", "pool": "vram"]) == Double(Int64.max))
    }

    @Test("garbage in KFD files: a note, the devices still read")
    func junkKFD() throws {
        let tree = try FakeSysfs.make([FakeCard()], processes: [6: [45678: 1]])
        defer { tree.cleanUp() }
        try tree.write("class/kfd/kfd/proc/6/vram_45678", "many\n")
        try tree.mkdir("class/kfd/kfd/proc/not-a-pid")
        let r = try report(tree)
        #expect(r.devices.count == 1)
        #expect(r.processes.isEmpty)
        #expect(r.notes == ["pid 6: vram_45678: expected a number, found 'many'"])
    }

    @Test("a trailing slash on the root is fine")
    func trailingSlash() throws {
        let tree = try FakeSysfs.make([FakeCard()])
        defer { tree.cleanUp() }
        #expect(SysfsProbe(root: tree.path + "/").sample().devices.count == 1)
    }
}
