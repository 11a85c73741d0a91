import Testing
@testable import HermesGPU

@Suite("APU pool decision")
struct APUPolicyTests {
    @Test("gfx1151 with a 512 MiB carve-out and 96 GiB GTT: integrated, models in GTT")
    func strixHaloSmallCarveOut() throws {
        let d = try #require(APUPolicy.decide(deviceID: 0x1586, vramTotal: 512 * MiB, gttTotal: 96 * GiB))
        #expect(d.integrated)
        #expect(d.pool == .gtt)
        #expect(d.reason.contains("512 MiB carve-out is smaller than GTT (96.0 GiB)"))
    }

    @Test("gfx1151 with a 64 GiB carve-out and 32 GiB GTT: still an APU, but models in the carve-out")
    func strixHaloLargeCarveOut() throws {
        let d = try #require(APUPolicy.decide(deviceID: 0x1586, vramTotal: 64 * GiB, gttTotal: 32 * GiB))
        #expect(d.integrated)
        #expect(d.pool == .vram)
        // The size rule alone would not call it integrated; the device id does.
        #expect(!APUPolicy.looksIntegrated(vramTotal: 64 * GiB, gttTotal: 32 * GiB))
    }

    @Test("an unknown device with a large carve-out is treated as discrete: VRAM")
    func unknownLargeVRAM() throws {
        let d = try #require(APUPolicy.decide(deviceID: 0x9999, vramTotal: 64 * GiB, gttTotal: 32 * GiB))
        #expect(!d.integrated)
        #expect(d.pool == .vram)
    }

    @Test("a discrete card with more GTT than VRAM still places models in VRAM")
    func discrete() throws {
        let d = try #require(APUPolicy.decide(deviceID: 0x744C, vramTotal: 24 * GiB, gttTotal: 32 * GiB))
        #expect(!d.integrated)
        #expect(d.pool == .vram)
        #expect(d.reason.hasPrefix("discrete GPU"))
    }

    @Test("an unknown device that fits the size rule is an APU using GTT")
    func unknownAPUBySize() throws {
        let d = try #require(APUPolicy.decide(deviceID: nil, vramTotal: 2 * GiB, gttTotal: 16 * GiB))
        #expect(d.integrated)
        #expect(d.pool == .gtt)
        #expect(d.reason.contains("small VRAM, large GTT"))
    }

    @Test("the size rule's edges: VRAM <= 4 GiB, GTT >= 8 GiB, GTT >= 4 x VRAM", arguments: [
        (vram: 4 * GiB, gtt: 16 * GiB, integrated: true),
        (vram: 4 * GiB + 1, gtt: 64 * GiB, integrated: false),
        (vram: 512 * MiB, gtt: 8 * GiB, integrated: true),
        (vram: 512 * MiB, gtt: 8 * GiB - 1, integrated: false),
        (vram: 3 * GiB, gtt: 12 * GiB, integrated: true),
        (vram: 3 * GiB, gtt: 12 * GiB - 1, integrated: false),
        (vram: 0, gtt: 8 * GiB, integrated: true),
        (vram: UInt64.max, gtt: UInt64.max, integrated: false),
    ])
    func sizeRule(vram: UInt64, gtt: UInt64, integrated: Bool) {
        #expect(APUPolicy.looksIntegrated(vramTotal: vram, gttTotal: gtt) == integrated)
    }

    @Test("unknown VRAM size: no decision; unknown GTT size: VRAM, said so")
    func unknownSizes() throws {
        #expect(APUPolicy.decide(deviceID: 0x1586, vramTotal: nil, gttTotal: 96 * GiB) == nil)
        let d = try #require(APUPolicy.decide(deviceID: 0x1586, vramTotal: 512 * MiB, gttTotal: nil))
        #expect(d.pool == .vram)
        #expect(d.reason.contains("GTT size unknown"))
    }

    @Test("a name for devices the driver leaves unnamed")
    func fallbackNames() {
        #expect(APUPolicy.fallbackName(deviceID: 0x1586).contains("8060S"))
        #expect(APUPolicy.fallbackName(deviceID: 0x0042) == "AMD GPU [1002:0042]")
        #expect(APUPolicy.fallbackName(deviceID: nil) == "AMD GPU")
    }
}
