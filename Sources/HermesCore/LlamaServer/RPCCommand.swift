import Foundation

extension LlamaServerCommand {
    /// The worker process of an rpc-worker profile: `ggml-rpc-server -H -p [-t] [-d] [-c]`.
    ///
    /// Only flags b11434 knows are built: an unknown flag makes the worker print its usage and exit 0,
    /// which would look like a clean stop. The tensor cache (`-c`) goes under `cacheDirectory` through
    /// `LLAMA_CACHE`, where the supervisor can measure and cap it.
    public static func rpcWorker(profile name: String, settings s: RPCWorkerSettings, executable: String,
                                 cacheDirectory: URL) -> LlamaServerCommand
    {
        var args = ["-H", s.effectiveAddress, "-p", String(s.effectivePort)]
        if let t = s.threads { args += ["-t", String(t)] }
        if let d = s.device { args += ["-d", d] }
        var env = s.env ?? [:]
        if s.effectiveTensorCache {
            args.append("-c")
            env["LLAMA_CACHE"] = cacheDirectory.path
        }
        return LlamaServerCommand(executable: executable, arguments: args, environment: env,
                                  host: s.effectiveAddress, port: s.effectivePort)
    }

    /// The flags a main adds for its workers: `--rpc h:p,...`, `-dev RPC0,...` unless `args` picks the
    /// devices, and `--cache-ram 0` (the prompt cache in RAM aborted with RPC on b11434: #26128) unless
    /// the profile sets `cache_ram` or `args` does.
    static func rpcArguments(_ endpoints: [RPCEndpoint], extra: [String], cacheRAMSet: Bool = false) -> [String] {
        guard !endpoints.isEmpty else { return [] }
        let given = Set(extra.map { String($0.split(separator: "=").first ?? "") })
        var args = ["--rpc", endpoints.map(\.address).joined(separator: ",")]
        if given.isDisjoint(with: ["-dev", "--device"]) {
            args += ["-dev", endpoints.indices.map { "RPC\($0)" }.joined(separator: ",")]
        }
        if !cacheRAMSet, !given.contains("--cache-ram"), !given.contains("-cram") { args += ["--cache-ram", "0"] }
        return args
    }
}

/// Finds `ggml-rpc-server`: the profile's `binary`, else beside the llama-server that the override or
/// the usual search finds (the set-up builds both into one folder), else on PATH and the known places.
public enum RPCBinaryLocator {
    public static func resolve(profileBinary: String?, llamaServerOverride: String?, environment: [String: String]) throws -> String {
        if let b = profileBinary {
            return try BinaryLocator.resolve(profileBinary: b, override: nil, environment: environment.filter { $0.key != "HERMES_RUNTIME_LLAMA_SERVER" })
        }
        if let server = try? BinaryLocator.resolve(profileBinary: nil, override: llamaServerOverride, environment: environment) {
            let beside = URL(fileURLWithPath: server).deletingLastPathComponent().appendingPathComponent("ggml-rpc-server").path
            if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        }
        return try BinaryLocator.resolve(profileBinary: "ggml-rpc-server", override: nil,
                                         environment: environment.filter { $0.key != "HERMES_RUNTIME_LLAMA_SERVER" })
    }
}
