import Foundation

/// A supervised `ggml-rpc-server` (`kind: rpc-worker`): lends one device to a llama-server on this box
/// or another. It answers no requests of its own; a llama-server profile names it in `rpc:`.
public struct RPCWorkerSettings: Sendable, Equatable, Codable {
    public var binary: String?
    /// A literal IPv4 address (`-H`); loopback unless `network: trusted`.
    public var address: String?
    public var port: Int?
    /// The backend device the worker serves (`-d`, e.g. `CPU`, `ROCm0`, `Vulkan0`).
    public var device: String?
    public var threads: Int?
    /// The worker keeps tensors it was sent on disk (`-c`, under the state directory).
    public var tensorCache: Bool?
    /// Bytes the tensor cache may hold before the supervisor empties it.
    public var tensorCacheMax: Int?
    /// `trusted` allows an address off loopback: the protocol has no authentication and no encryption.
    public var network: RPCNetwork?
    public var load: LoadMode?
    public var env: [String: String]?
    public var restart: RestartSettings?

    public init() {}

    /// ggml-rpc-server's own default port.
    public static let defaultPort = 50052
    /// `tensor_cache_max` when the cache is on and no cap is set.
    public static let defaultTensorCacheMax = 16 << 30

    public var effectiveAddress: String { address ?? "127.0.0.1" }
    public var effectivePort: Int { port ?? Self.defaultPort }
    public var effectiveTensorCache: Bool { tensorCache ?? false }
    public var effectiveTensorCacheMax: Int { tensorCacheMax ?? Self.defaultTensorCacheMax }
    public var effectiveLoad: LoadMode { load ?? .manual }
    public var effectiveRestart: ResolvedRestart { (restart ?? RestartSettings()).resolved }

    /// Fields set here win; unset ones come from `parent`.
    public func inheriting(from parent: RPCWorkerSettings) -> RPCWorkerSettings {
        var m = self
        m.binary = binary ?? parent.binary
        m.address = address ?? parent.address
        m.port = port ?? parent.port
        m.device = device ?? parent.device
        m.threads = threads ?? parent.threads
        m.tensorCache = tensorCache ?? parent.tensorCache
        m.tensorCacheMax = tensorCacheMax ?? parent.tensorCacheMax
        m.network = network ?? parent.network
        m.load = load ?? parent.load
        if let p = parent.env { m.env = p.merging(env ?? [:]) { _, own in own } }
        m.restart = restart.map { $0.inheriting(from: parent.restart) } ?? parent.restart
        return m
    }
}

/// What the network an rpc-worker listens on is (`network:`).
public enum RPCNetwork: String, Sendable, Equatable, Codable, CaseIterable {
    /// Only this machine (the default): the address must be loopback.
    case loopback
    /// A link only trusted machines reach (a direct cable, USB4 networking, WireGuard).
    case trusted
}

/// One worker a main llama-server uses, resolved from an `rpc:` entry.
public struct RPCEndpoint: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The local rpc-worker profile, or nil for a worker on another box.
    public var profile: String?
    public var host: String
    public var port: Int

    public init(profile: String?, host: String, port: Int) {
        self.profile = profile
        self.host = host
        self.port = port
    }

    /// `host:port`, as `--rpc` takes it.
    public var address: String { "\(host):\(port)" }
    /// The profile name for a local worker, else the address: what messages call it.
    public var description: String { profile ?? address }

    /// Resolves one `rpc:` entry: an rpc-worker profile's name, else `IPv4:port`; nil with the reason.
    public static func resolve(_ entry: String, profiles: [String: Profile]) -> Result<RPCEndpoint, RPCEntryError> {
        if let p = profiles[entry] {
            guard case .rpcWorker(let w) = p.kind else { return .failure(.notAWorker(entry, kind: p.kindName)) }
            return .success(RPCEndpoint(profile: entry, host: w.effectiveAddress, port: w.effectivePort))
        }
        if let (host, port) = parseHostPort(entry), IPv4Literal.isValid(host) {
            return .success(RPCEndpoint(profile: nil, host: host, port: port))
        }
        return .failure(.unknown(entry))
    }
}

/// Why an `rpc:` entry names no worker.
public enum RPCEntryError: Error, Sendable, Equatable {
    case notAWorker(String, kind: String)
    case unknown(String)
}

extension Profile {
    public var rpcWorker: RPCWorkerSettings? {
        if case .rpcWorker(let s) = kind { return s }
        return nil
    }
}

extension HermesConfig {
    /// The workers `profile` spreads its model over, in `--rpc` order; entries that do not resolve
    /// (refused by validation) are left out.
    public func rpcEndpoints(of profile: Profile) -> [RPCEndpoint] {
        (profile.llamaServer?.rpc ?? []).compactMap { try? RPCEndpoint.resolve($0, profiles: profiles).get() }
    }

    /// The llama-server profiles that name the local worker `worker` in `rpc:`.
    public func mains(using worker: String) -> [Profile] {
        profiles.values.filter { ($0.llamaServer?.rpc ?? []).contains(worker) }.sorted { $0.name < $1.name }
    }
}

/// Dotted-quad IPv4 literals: what `ggml-rpc-server -H` takes (it resolves no names).
public enum IPv4Literal {
    /// Four decimal parts 0...255, no sign, no leading zero (which some parsers read as octal).
    public static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { p in
            guard (1...3).contains(p.count), p.allSatisfy({ $0.isASCII && $0.isNumber }), !(p.count > 1 && p.first == "0"),
                let v = Int(p) else { return false }
            return v <= 255
        }
    }

    /// 127.0.0.0/8.
    public static func isLoopback(_ text: String) -> Bool { isValid(text) && text.hasPrefix("127.") }
}

extension Profile {
    /// True for a profile whose process this machine runs and supervises: a llama-server or an RPC worker.
    public var isSupervised: Bool { llamaServer != nil || rpcWorker != nil }
}

extension RuntimePaths {
    /// An rpc-worker's tensor cache (`LLAMA_CACHE`), under the state directory.
    public func rpcCacheDirectory(_ profile: String) -> URL {
        stateDirectory.appendingPathComponent("rpc-cache").appendingPathComponent(profile)
    }
}
