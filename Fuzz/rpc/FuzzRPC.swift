import CFuzzDriver
import HermesCore

/// libFuzzer entry: the first byte picks the reply (even: HELLO, odd: GET_DEVICE_MEMORY), the rest are
/// the bytes a worker sent back. Any bytes give a value or an error, never a trap; a version read is
/// three bytes' worth, and device memory has free at most total.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRPC(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    guard let pick = bytes.first else { return 0 }
    let reply = Array(bytes.dropFirst())
    if pick % 2 == 0 {
        if case .success(let v) = RPCProtocol.parseHello(reply) {
            precondition((0...255).contains(v.major) && (0...255).contains(v.minor) && (0...255).contains(v.patch))
            _ = v.isCompatible(with: RPCProtocol.ours)
            _ = v.description
        }
    } else if case .success(let m) = RPCProtocol.parseDeviceMemory(reply) {
        precondition(m.free <= m.total)
    }
    return 0
}

/// The process entry (SwiftPM aliases `main` to it on Linux): libFuzzer's driver on `fuzzRPC`.
@_cdecl("fuzz_rpc_main")
public func fuzzRPCMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    hermes_fuzz_run(argc, argv, fuzzRPC)
}
