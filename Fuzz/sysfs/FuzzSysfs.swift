import CFuzzDriver
import HermesCore
import HermesGPU

/// libFuzzer entry: the bytes are the text of a sysfs or procfs file. Every parser the GPU probe and
/// the memory check apply to such text runs on it: numbers, hex ids, temperatures, KFD topology
/// properties, PCI addresses in link targets and `/proc/meminfo`. Errors are answers; traps are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSysfs(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = SysfsValue.unsigned(text)
    _ = SysfsValue.hexID(text)
    _ = SysfsValue.signed(text)
    _ = SysfsValue.shown(SysfsValue.trimmed(text))
    _ = SysfsValue.kfdPCIAddress(properties: text)
    _ = PCIAddress.last(in: text)
    if case .success(let n) = SysfsValue.unsigned(text) { _ = PCIAddress.format(bdfid: n) }
    _ = MemInfo.availableBytes(parsing: text)
    return 0
}

/// The process entry (SwiftPM aliases `main` to it on Linux): libFuzzer's driver on `fuzzSysfs`.
@_cdecl("fuzz_sysfs_main")
public func fuzzSysfsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    hermes_fuzz_run(argc, argv, fuzzSysfs)
}
