import Foundation
import Yams

/// `kind: rpc-worker` profiles and the `rpc:` lists of llama-server profiles that name them.
extension ConfigLoader {
    static let rpcWorkerKeys = [
        "binary", "address", "port", "device", "threads", "tensor_cache", "tensor_cache_max", "network", "load", "env",
        "restart",
    ]
    /// Largest tensor cache cap: 16 TiB, far past any disk a cache would sit on.
    static let tensorCacheBytes: ClosedRange<Int> = (1 << 20)...(1 << 44)

    static func parseRPCWorker(_ d: Draft, reader: YAMLReader) -> RPCWorkerSettings {
        var s = RPCWorkerSettings()
        let allowed = commonKeys + rpcWorkerKeys
        for e in d.entries {
            guard allowed.contains(e.key) else { unknownKey(e, kind: "rpc-worker", allowed: allowed, reader: reader); continue }
            if YAMLReader.isEmpty(e.value) { continue }
            let k = e.key, v = e.value
            switch k {
            case "binary": s.binary = reader.string(v, path: k)
            case "address":
                if let a = reader.string(v, path: k) {
                    if IPv4Literal.isValid(a) { s.address = a } else {
                        reader.add(.error, v, path: k, "expected a literal IPv4 address such as 127.0.0.1 (ggml-rpc-server resolves no names), found '\(YAMLReader.shown(a))'")
                    }
                }
            case "port": s.port = reader.int(v, path: k, range: 1...65535)
            case "device": s.device = reader.string(v, path: k)
            case "threads": s.threads = reader.int(v, path: k, range: 1...4096)
            case "tensor_cache": s.tensorCache = reader.bool(v, path: k)
            case "tensor_cache_max": s.tensorCacheMax = reader.bytes(v, path: k, range: tensorCacheBytes)
            case "network":
                if let t = reader.string(v, path: k) {
                    if let n = RPCNetwork(rawValue: t) { s.network = n } else {
                        reader.add(.error, v, path: k, "expected loopback or trusted, found '\(YAMLReader.shown(t))'")
                    }
                }
            case "load":
                if let t = reader.string(v, path: k) {
                    if let m = LoadMode(rawValue: t), m != .onDemand { s.load = m } else {
                        reader.add(.error, v, path: k, "expected always or manual, found '\(YAMLReader.shown(t))' (a local worker also starts with the main that names it)")
                    }
                }
            case "env": s.env = reader.stringMap(v, path: k)
            case "restart": s.restart = parseRestart(v, reader: reader)
            default: break
            }
        }
        return s
    }

    /// Checks on the merged rpc-worker profile: an address off loopback only on a trusted network.
    static func checkRPCWorker(_ s: RPCWorkerSettings, node: (String) -> Node?, reader: YAMLReader) {
        if !IPv4Literal.isLoopback(s.effectiveAddress), s.network != .trusted {
            reader.add(.error, node("address"), path: "address",
                       "address \(s.effectiveAddress) is off loopback, and the RPC protocol has no authentication and no "
                           + "encryption: anyone who reaches the port can use the device and read the model. Set "
                           + "'network: trusted' only on a link only your machines reach (a direct cable, USB4 networking, "
                           + "WireGuard), or use 127.0.0.1")
        }
        if s.tensorCacheMax != nil, !s.effectiveTensorCache {
            reader.add(.warning, node("tensor_cache_max"), path: "tensor_cache_max", "tensor_cache_max applies only with tensor_cache: true")
        }
    }

    /// Resolves every `rpc:` entry into `rpcEndpoints`, and refuses names that are no worker, workers
    /// named twice, worker ports that collide, and requests routed to a worker.
    static func rpcCheck(_ config: inout HermesConfig, runtime: YAMLReader, profiles readers: [String: YAMLReader])
        -> [ConfigDiagnostic]
    {
        var out: [ConfigDiagnostic] = []
        func located(_ p: Profile, key: String, _ message: String) {
            let mark = readers[p.name]?.position(of: key)
            out.append(ConfigDiagnostic(.error, file: p.source.file, line: mark?.line ?? 1, column: mark?.column ?? 1,
                                        keyPath: key, message: message))
        }
        let workers = config.profiles.values.filter { $0.rpcWorker != nil }.map(\.name).sorted()
        for p in config.profiles.values.sorted(by: { $0.name < $1.name }) {
            guard var s = p.llamaServer, let entries = s.rpc else { continue }
            var endpoints: [RPCEndpoint] = []
            for (i, entry) in entries.enumerated() {
                switch RPCEndpoint.resolve(entry, profiles: config.profiles) {
                case .success(let e):
                    if endpoints.contains(where: { $0.address == e.address }) {
                        located(p, key: "rpc[\(i)]", "worker \(e.address) is named twice")
                    }
                    endpoints.append(e)
                case .failure(.notAWorker(let name, let kind)):
                    located(p, key: "rpc[\(i)]", "rpc names profile '\(name)', a \(kind) profile, not an rpc-worker")
                case .failure(.unknown(let name)):
                    var message = "rpc entry '\(YAMLReader.shown(name))' is neither an rpc-worker profile nor IPv4:port"
                    if let near = closestMatch(to: name, in: workers) { message += " (did you mean '\(near)'?)" }
                    located(p, key: "rpc[\(i)]", message)
                }
            }
            s.rpcEndpoints = endpoints
            config.profiles[p.name]?.kind = .llamaServer(s)
        }
        var ports = Dictionary(config.profiles.values.compactMap { p in p.llamaServer?.port.map { ($0, p.name) } }) { a, _ in a }
        ports[config.runtime.front.port] = "the front"
        for p in config.profiles.values.sorted(by: { $0.name < $1.name }) {
            guard let w = p.rpcWorker else { continue }
            if let other = ports[w.effectivePort] {
                located(p, key: "port", "port \(w.effectivePort) is also used by \(other == "the front" ? other : "profile '\(other)'")")
            } else {
                ports[w.effectivePort] = p.name
            }
            for q in config.profiles.values where q.burst == p.name || q.fallback.contains(p.name) {
                located(q, key: q.burst == p.name ? "burst" : "fallback", "'\(p.name)' is an rpc-worker: it answers no requests")
            }
        }
        if let d = config.runtime.front.defaultProfile, config.profiles[d]?.rpcWorker != nil {
            let mark = runtime.position(of: "front.default")
            out.append(ConfigDiagnostic(.error, file: config.runtime.source.file, line: mark?.line ?? 1, column: mark?.column ?? 1,
                                        keyPath: "front.default", message: "'\(d)' is an rpc-worker: it answers no requests"))
        }
        return out
    }
}
