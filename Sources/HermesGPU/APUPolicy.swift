import HermesCore

/// Decides whether an AMD GPU is an APU and which pool a model will be placed in. Pure: sizes in,
/// decision out, so every case is a unit test.
///
/// On Strix Halo (gfx1151) "VRAM" is only the BIOS carve-out; when it is smaller than GTT the kernel
/// prefers GTT (`apu_prefer_gtt`) and HIP reports about the size of GTT as device memory, so a model lives
/// in GTT. With a carve-out at least as large as GTT, HIP sees only the carve-out. A discrete card always
/// places models in its VRAM. The two pools are never added: that overcounts (ROCm issue #6004).
public enum APUPolicy {
    /// Ollama's rule: an integrated GPU has at most this much VRAM...
    public static let integratedMaxVRAMBytes: UInt64 = 4 << 30
    /// ...at least this much GTT...
    public static let integratedMinGTTBytes: UInt64 = 8 << 30
    /// ...and GTT at least this many times its VRAM.
    public static let integratedMinGTTToVRAMRatio: UInt64 = 4

    /// PCI device ids of AMD APUs, with a name for when the driver gives none (APUs have no
    /// `product_name`, and rocm_smi then falls back to the vendor id). Catches an APU whose BIOS carve-out
    /// is too large for the size rule (a 64 GiB carve-out on a 128 GiB Strix Halo).
    public static let knownAPUs: [UInt16: String] = [
        0x1586: "AMD Radeon 8050S/8060S Graphics (Strix Halo)",
        0x150E: "AMD Radeon 880M/890M Graphics (Strix Point)",
        0x1114: "AMD Radeon 840M/860M Graphics (Krackan Point)",
        0x15BF: "AMD Radeon 760M/780M Graphics (Phoenix)",
        0x15C8: "AMD Radeon 740M Graphics (Phoenix2)",
        0x1681: "AMD Radeon 660M/680M Graphics (Rembrandt)",
        0x164E: "AMD Radeon Graphics (Raphael)",
        0x13C0: "AMD Radeon Graphics (Granite Ridge)",
        0x1506: "AMD Radeon 610M Graphics (Mendocino)",
        0x163F: "AMD Custom GPU 0405 (Van Gogh)",
        0x1636: "AMD Radeon Graphics (Renoir)",
        0x1638: "AMD Radeon Graphics (Cezanne)",
        0x164C: "AMD Radeon Graphics (Lucienne)",
        0x15DD: "AMD Radeon Vega Graphics (Raven Ridge)",
        0x15D8: "AMD Radeon Vega Graphics (Picasso)",
    ]

    /// The decision for one device.
    public struct Decision: Sendable, Equatable {
        /// An APU sharing system RAM with the CPU.
        public var integrated: Bool
        /// `.vram` or `.gtt`.
        public var pool: GPUMemoryPool
        /// Why, for a person.
        public var reason: String
    }

    /// The size rule alone: VRAM <= 4 GiB, GTT >= 8 GiB and GTT >= 4 x VRAM.
    public static func looksIntegrated(vramTotal: UInt64, gttTotal: UInt64) -> Bool {
        let (scaled, overflow) = vramTotal.multipliedReportingOverflow(by: integratedMinGTTToVRAMRatio)
        return vramTotal <= integratedMaxVRAMBytes && gttTotal >= integratedMinGTTBytes && !overflow && gttTotal >= scaled
    }

    /// Integrated when the device id is a known APU or the size rule says so; the model pool is GTT on an
    /// APU whose carve-out is smaller than GTT, else VRAM. Nil when the VRAM size is unknown: then no
    /// pool can be named honestly.
    public static func decide(deviceID: UInt16?, vramTotal: UInt64?, gttTotal: UInt64?) -> Decision? {
        guard let vram = vramTotal else { return nil }
        let known = deviceID.map { knownAPUs[$0] != nil } ?? false
        guard let gtt = gttTotal else {
            return Decision(integrated: known, pool: .vram,
                            reason: "GTT size unknown: counting on VRAM (\(ByteCount.format(vram))) only")
        }
        let bySize = looksIntegrated(vramTotal: vram, gttTotal: gtt)
        guard known || bySize else {
            return Decision(integrated: false, pool: .vram, reason: "discrete GPU: models go to its VRAM")
        }
        let why = known ? "APU (known device id)" : "APU (small VRAM, large GTT)"
        if vram < gtt {
            return Decision(integrated: true, pool: .gtt,
                            reason: "\(why): the \(ByteCount.format(vram)) carve-out is smaller than GTT "
                                + "(\(ByteCount.format(gtt))), so GPU memory comes from GTT (system RAM)")
        }
        return Decision(integrated: true, pool: .vram,
                        reason: "\(why): the \(ByteCount.format(vram)) carve-out is not smaller than GTT "
                            + "(\(ByteCount.format(gtt))), so GPU memory comes from the carve-out")
    }

    /// A name for a device the driver did not name: the known APU name, or the PCI id.
    public static func fallbackName(deviceID: UInt16?) -> String {
        guard let id = deviceID else { return "AMD GPU" }
        return knownAPUs[id] ?? "AMD GPU [1002:\(hex4(id))]"
    }

    static func hex4(_ id: UInt16) -> String {
        let digits = String(id, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
