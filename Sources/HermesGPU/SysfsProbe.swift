/// Reads AMD GPUs straight from the amdgpu driver's sysfs files: the fallback when librocm_smi is
/// missing or fails, and the way tests feed the APU logic fixture trees (the root is injectable).
///
/// Reads `class/drm/card*/device/{vendor,device,product_name,mem_info_*,gpu_busy_percent}`, the device's
/// amdgpu hwmon for the edge temperature, `class/kfd/kfd/topology/nodes/*/{gpu_id,properties}` to learn
/// each device's KFD id, and `class/kfd/kfd/proc/<pid>/vram_<gpu_id>` for per-process use. Never throws:
/// what cannot be read becomes a problem on the device, or the report's reason.
public struct SysfsProbe: Sendable {
    /// The sysfs root, `/sys` on a real machine.
    public var root: String

    /// A probe reading under `root` (`/sys`, or a fixture tree).
    public init(root: String = "/sys") {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    static let amdVendorID: UInt16 = 0x1002

    /// One reading of every AMD card and every KFD process.
    public func sample() -> GPUSample {
        let drm = root + "/class/drm"
        guard let entries = SysfsFiles.list(drm) else {
            let why = SysfsFiles.exists(drm) ? "\(drm) cannot be read" : "\(drm) does not exist: no GPU driver is loaded"
            return GPUSample(devices: [], reason: "no AMD GPU: \(why)")
        }
        // `card0-DP-1` and friends are connectors, not cards.
        let cards = entries.compactMap { name -> (name: String, number: Int)? in
            guard name.hasPrefix("card"), let n = Int(name.dropFirst(4)) else { return nil }
            return (name, n)
        }.sorted { $0.number < $1.number }
        guard !cards.isEmpty else {
            return GPUSample(devices: [], reason: "no AMD GPU: no DRM card under \(drm)")
        }

        var notes: [String] = []
        let gpuIDs = kfdGPUIDs(notes: &notes)
        var devices: [GPUSample.Device] = []
        for card in cards {
            if let device = readCard(card.name, index: devices.count, gpuIDs: gpuIDs) { devices.append(device) }
        }
        guard !devices.isEmpty else {
            return GPUSample(devices: [], reason: "no AMD GPU among \(cards.count) DRM card(s) under \(drm)", notes: notes)
        }
        let processes = readProcesses(devices: devices, notes: &notes)
        return GPUSample(devices: devices, processes: processes, notes: notes)
    }

    /// One card, or nil when it is not an AMD GPU.
    func readCard(_ card: String, index: Int, gpuIDs: [String: UInt64]) -> GPUSample.Device? {
        let dev = "\(root)/class/drm/\(card)/device"
        // A card whose vendor cannot be read is not one we can vouch for; a non-AMD card is not ours.
        guard case .success(let vendorText) = SysfsFiles.read(dev + "/vendor"),
              case .success(let vendor) = SysfsValue.hexID(vendorText), vendor == Self.amdVendorID else { return nil }

        var d = GPUSample.Device(index: index, card: card)
        func value<T>(_ file: String, _ parse: (String) -> Result<T, SysfsFiles.ReadFailure>, required: Bool = true) -> T? {
            switch SysfsFiles.read("\(dev)/\(file)").flatMap(parse) {
            case .success(let v):
                return v
            case .failure(let failure):
                if required || failure.message != "missing" { d.problems.append("\(card): \(file): \(failure)") }
                return nil
            }
        }
        d.deviceID = value("device", SysfsValue.hexID)
        // The card's own link names its PCI device (`../../devices/pci0000:00/.../0000:c5:00.0/drm/card0`):
        // one readlink, where resolving the device path would cost one per path element.
        d.pciAddress = SysfsFiles.linkTarget("\(root)/class/drm/\(card)").flatMap(PCIAddress.last(in:))
            ?? SysfsFiles.resolve(dev).flatMap(PCIAddress.last(in:))
        // APUs have no product_name (it comes from a board EEPROM); an empty one is as good as none.
        d.name = value("product_name", { .success(SysfsValue.trimmed($0)) }, required: false).flatMap { $0.isEmpty ? nil : $0 }
        d.vramTotal = value("mem_info_vram_total", SysfsValue.unsigned)
        d.vramUsed = value("mem_info_vram_used", SysfsValue.unsigned)
        d.visibleVRAMTotal = value("mem_info_vis_vram_total", SysfsValue.unsigned, required: false)
        d.visibleVRAMUsed = value("mem_info_vis_vram_used", SysfsValue.unsigned, required: false)
        d.gttTotal = value("mem_info_gtt_total", SysfsValue.unsigned)
        d.gttUsed = value("mem_info_gtt_used", SysfsValue.unsigned)
        d.busyPercent = value("gpu_busy_percent", SysfsValue.unsigned, required: false).map { Int(min($0, 100)) }
        d.edgeTemperatureCelsius = edgeTemperature(dev: dev, card: card, problems: &d.problems)
        d.kfdGPUID = d.pciAddress.flatMap { gpuIDs[$0] }
        return d
    }

    /// The amdgpu hwmon's edge temperature (the sensor labelled `edge`, else `temp1`), in degrees.
    func edgeTemperature(dev: String, card: String, problems: inout [String]) -> Double? {
        for hwmon in (SysfsFiles.list(dev + "/hwmon") ?? []).sorted() where hwmon.hasPrefix("hwmon") {
            let dir = "\(dev)/hwmon/\(hwmon)"
            guard case .success(let name) = SysfsFiles.read(dir + "/name"), SysfsValue.trimmed(name) == "amdgpu" else { continue }
            var input = "temp1_input"
            // amdgpu puts "edge" on temp1; look further only when it does not.
            if case .success(let first) = SysfsFiles.read(dir + "/temp1_label"), SysfsValue.trimmed(first) != "edge" {
                for label in (SysfsFiles.list(dir) ?? []).sorted() where label.hasPrefix("temp") && label.hasSuffix("_label") {
                    if case .success(let text) = SysfsFiles.read("\(dir)/\(label)"), SysfsValue.trimmed(text) == "edge" {
                        input = String(label.dropLast("_label".count)) + "_input"
                        break
                    }
                }
            }
            switch SysfsFiles.read("\(dir)/\(input)").flatMap(SysfsValue.signed) {
            case .success(let milli): return Double(milli) / 1000
            case .failure(let failure):
                if failure.message != "missing" { problems.append("\(card): hwmon/\(hwmon)/\(input): \(failure)") }
                return nil
            }
        }
        return nil
    }

    /// PCI address -> KFD gpu_id, from the topology nodes' `location_id` and `domain`.
    func kfdGPUIDs(notes: inout [String]) -> [String: UInt64] {
        let nodes = "\(root)/class/kfd/kfd/topology/nodes"
        var map: [String: UInt64] = [:]
        for node in SysfsFiles.list(nodes) ?? [] where UInt32(node) != nil {
            guard case .success(let idText) = SysfsFiles.read("\(nodes)/\(node)/gpu_id") else { continue }
            guard case .success(let gpuID) = SysfsValue.unsigned(idText) else {
                notes.append("kfd node \(node): gpu_id is not a number")
                continue
            }
            guard gpuID != 0 else { continue }  // a CPU node
            guard case .success(let properties) = SysfsFiles.read("\(nodes)/\(node)/properties") else { continue }
            guard let address = SysfsValue.kfdPCIAddress(properties: properties) else { continue }
            map[address] = gpuID
        }
        return map
    }

    /// Every KFD process with memory on one of `devices`.
    func readProcesses(devices: [GPUSample.Device], notes: inout [String]) -> [GPUProcess] {
        let procRoot = "\(root)/class/kfd/kfd/proc"
        let known = devices.compactMap { d in d.kfdGPUID.map { (index: d.index, gpuID: $0) } }
        guard !known.isEmpty else { return [] }
        var processes: [GPUProcess] = []
        for entry in SysfsFiles.list(procRoot) ?? [] {
            guard let pid = Int32(entry), pid > 0 else { continue }
            var bytes: UInt64 = 0
            var on: [Int] = []
            for (index, gpuID) in known {
                switch SysfsFiles.read("\(procRoot)/\(entry)/vram_\(gpuID)").flatMap(SysfsValue.unsigned) {
                case .success(let v):
                    bytes &+= v
                    on.append(index)
                case .failure(let failure):
                    // A process that exits between the listing and the read is normal, not a problem.
                    if failure.message != "missing" { notes.append("pid \(pid): vram_\(gpuID): \(failure)") }
                }
            }
            if !on.isEmpty { processes.append(GPUProcess(pid: pid, bytes: bytes, devices: on)) }
        }
        return processes.sorted { $0.pid < $1.pid }
    }
}

/// PCI addresses as `DDDD:BB:DD.F`, lower-case hex.
package enum PCIAddress {
    package static func format(domain: UInt64, bus: UInt64, device: UInt64, function: UInt64) -> String {
        "\(hex(domain, 4)):\(hex(bus, 2)):\(hex(device, 2)).\(String(function, radix: 16))"
    }

    /// From rocm_smi's BDF id: domain in bits 32 and up, bus 8-15, device 3-7, function 0-2.
    package static func format(bdfid: UInt64) -> String {
        format(domain: bdfid >> 32, bus: (bdfid >> 8) & 0xFF, device: (bdfid >> 3) & 0x1F, function: bdfid & 0x7)
    }

    /// The last path element shaped like a PCI address (the device itself, not a bridge above it).
    package static func last(in path: String) -> String? {
        path.split(separator: "/").reversed().first(where: isAddress).map { String($0).lowercased() }
    }

    package static func isAddress(_ s: Substring) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 12, u[4] == UInt8(ascii: ":"), u[7] == UInt8(ascii: ":"), u[10] == UInt8(ascii: ".") else { return false }
        return [0, 1, 2, 3, 5, 6, 8, 9, 11].allSatisfy { isHex(u[$0]) }
    }

    private static func isHex(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46)
    }

    private static func hex(_ v: UInt64, _ width: Int) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
