import Foundation
import HermesTestSupport
import Testing
@testable import HermesGPU

/// Sysfs is outside input too (issue #10): a FIFO or garbage where a number belongs is a problem on
/// the device, never a blocked probe or a trap; the committed fuzz corpus replays through the parsers.
@Suite struct SysfsInputTests {
    @Test func aFIFOInTheTreeDoesNotBlockTheProbe() throws {
        let tree = try FakeSysfs.make([FakeCard.strixHalo(vram: 512 * MiB, gtt: 96 * GiB, gttUsed: 40 * GiB)])
        defer { tree.cleanUp() }
        let dev = tree.path + "/class/drm/card0/device"
        let busy = dev + "/gpu_busy_percent"
        try FileManager.default.removeItem(atPath: busy)
        #expect(mkfifo(busy, 0o600) == 0)
        let clock = ContinuousClock()
        let start = clock.now
        let sample = SysfsProbe(root: tree.path).sample()
        // A FIFO with no writer blocks an open(2) forever: any answer at all says it was not opened so.
        #expect(clock.now - start < .seconds(30))
        let device = try #require(sample.devices.first)
        #expect(device.busyPercent == nil)
        #expect(device.gttTotal == 96 * GiB)
    }

    @Test func hostileNumbersAreProblemsNotTraps() throws {
        let tree = try FakeSysfs.make([FakeCard.strixHalo(vram: 512 * MiB, gtt: 96 * GiB, gttUsed: 40 * GiB)])
        defer { tree.cleanUp() }
        let dev = "class/drm/card0/device"
        try tree.write("\(dev)/mem_info_gtt_used", "18446744073709551616\n")
        try tree.write("\(dev)/mem_info_vram_used", "-1\n")
        try tree.writeBytes("\(dev)/mem_info_gtt_total", [0xff, 0xfe, 0x00, 0x31])
        let sample = SysfsProbe(root: tree.path).sample()
        let device = try #require(sample.devices.first)
        #expect(device.gttUsed == nil && device.vramUsed == nil && device.gttTotal == nil)
        #expect(device.problems.contains { $0.contains("mem_info_gtt_used") && $0.contains("expected a number") })
    }

    @Test func theSysfsFuzzCorpusParses() throws {
        let dir = TestEnvironment.repositoryRoot.appendingPathComponent("Fuzz/sysfs/corpus")
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
        #expect(files.count >= 5)
        var numbers = 0
        for url in files {
            let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
            if case .success = SysfsValue.unsigned(text) { numbers += 1 }
            _ = SysfsValue.hexID(text)
            _ = SysfsValue.signed(text)
            _ = SysfsValue.kfdPCIAddress(properties: text)
            _ = PCIAddress.last(in: text)
        }
        #expect(numbers >= 2)
        #expect(SysfsValue.kfdPCIAddress(properties: "location_id 50432\ndomain 0\n") == "0000:c5:00.0")
    }
}
