/// The two questions we ask a `ggml-rpc-server` (llama.cpp's RPC protocol, `ggml-rpc.cpp`): HELLO, the
/// first command of every connection, and GET_DEVICE_MEMORY. Pure bytes in, values out; the socket is
/// in HermesSupervisor (RPCClient).
///
/// A request is `cmd (1 byte) | size (u64 LE) | data`; a reply is `size (u64 LE) | data`.
public enum RPCProtocol {
    /// The protocol our llama-server speaks (`RPC_PROTO_*_VERSION` in b11434's `ggml-rpc.h`).
    public static let ours = RPCVersion(major: 7, minor: 0, patch: 0)
    static let helloCommand: UInt8 = 14
    static let deviceMemoryCommand: UInt8 = 11
    /// `RPC_CONN_CAPS_SIZE`: transport capabilities; all zero asks for plain TCP.
    static let capsSize = 24
    /// A HELLO reply: 8 size bytes, then major, minor, patch, padding and the capability bytes.
    public static let helloReplySize = 8 + 4 + capsSize
    /// A GET_DEVICE_MEMORY reply: 8 size bytes, then free and total as u64.
    public static let deviceMemoryReplySize = 8 + 16

    /// HELLO with no transport upgrade.
    public static var helloRequest: [UInt8] { [helloCommand] + le64(UInt64(capsSize)) + [UInt8](repeating: 0, count: capsSize) }

    /// GET_DEVICE_MEMORY for the worker's `device` (0 for the first).
    public static func deviceMemoryRequest(device: UInt32 = 0) -> [UInt8] {
        [deviceMemoryCommand] + le64(4) + (0..<4).map { UInt8(truncatingIfNeeded: device >> ($0 * 8)) }
    }

    /// Reads a HELLO reply: exactly `helloReplySize` bytes whose size field says 28.
    public static func parseHello(_ bytes: [UInt8]) -> Result<RPCVersion, RPCReplyError> {
        guard bytes.count == helloReplySize else { return .failure(.length(bytes.count, expected: helloReplySize)) }
        let size = readLE64(bytes, at: 0)
        guard size == UInt64(4 + capsSize) else { return .failure(.sizeField(size, expected: UInt64(4 + capsSize))) }
        return .success(RPCVersion(major: Int(bytes[8]), minor: Int(bytes[9]), patch: Int(bytes[10])))
    }

    /// Reads a GET_DEVICE_MEMORY reply; free above total is garbage, not a device.
    public static func parseDeviceMemory(_ bytes: [UInt8]) -> Result<RPCDeviceMemory, RPCReplyError> {
        guard bytes.count == deviceMemoryReplySize else { return .failure(.length(bytes.count, expected: deviceMemoryReplySize)) }
        let size = readLE64(bytes, at: 0)
        guard size == 16 else { return .failure(.sizeField(size, expected: 16)) }
        let free = readLE64(bytes, at: 8), total = readLE64(bytes, at: 16)
        guard free <= total else { return .failure(.freeAboveTotal(free: free, total: total)) }
        return .success(RPCDeviceMemory(free: free, total: total))
    }

    static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }

    static func readLE64(_ b: [UInt8], at offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[offset + $1]) << ($1 * 8) }
    }
}

/// An RPC protocol version, `major.minor.patch`.
public struct RPCVersion: Sendable, Equatable, Codable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }
    public var description: String { "\(major).\(minor).\(patch)" }

    /// What llama-server itself accepts (`ggml-rpc.cpp`): the same major and no newer minor. We ask for
    /// the same minor too, since the main aborts on a mismatch and identical builds are the advice.
    public func isCompatible(with ours: RPCVersion) -> Bool { major == ours.major && minor == ours.minor }
}

/// A worker's device memory, in bytes.
public struct RPCDeviceMemory: Sendable, Equatable, Codable {
    public var free: UInt64
    public var total: UInt64
    public init(free: UInt64, total: UInt64) {
        self.free = free
        self.total = total
    }
}

/// Why bytes from a worker are no reply we understand.
public enum RPCReplyError: UserFacingError, Equatable, CustomStringConvertible {
    public var code: String { "bad_rpc_reply" }
    public var message: String { "the RPC worker's reply cannot be read: \(description)" }
    public var hint: String? { "the worker's ggml-rpc-server and this llama-server must come from the same llama.cpp build" }

    case length(Int, expected: Int)
    case sizeField(UInt64, expected: UInt64)
    case freeAboveTotal(free: UInt64, total: UInt64)

    public var description: String {
        switch self {
        case .length(let n, let e): return "the reply was \(n) bytes, not \(e)"
        case .sizeField(let s, let e): return "the reply's size field says \(s), not \(e)"
        case .freeAboveTotal(let f, let t): return "the reply says \(f) bytes free of \(t)"
        }
    }
}
