import Foundation
import CFuzzDriver
import HermesCore

/// libFuzzer entry: the bytes are a config root as one text (`ConfigBundle`: `runtime.yaml`, then
/// profiles after `#--- NAME` lines). Checks what the loader promises:
/// - it never traps, whatever the text;
/// - every diagnostic carries file:line:column;
/// - a config that loads holds only values inside `ConfigLimits`, and everything the daemon later
///   derives from it (routing policy, command lines, durations in milliseconds) is computed here too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let environment = ["HOME": "/home/fuzz", "FUZZ_KEY": "k", "EMPTY": ""]
    let (config, diagnostics) = ConfigBundle(text: text).validate(environment: environment)
    for d in diagnostics where d.line == nil || d.column == nil {
        fatalError("a diagnostic without line and column: \(d)")
    }
    guard !diagnostics.contains(where: { $0.severity == .error }) else { return 0 }
    let violations = ConfigLimits.violations(in: config)
    if !violations.isEmpty { fatalError("loaded values outside ConfigLimits: \(violations)") }

    // What the daemon does with a loaded config later, where a trap would take every model down.
    _ = RoutingPolicy(config: config)
    let dialect = LlamaServerDialect(flags: ["-m": .required, "--port": .required, "-c": .required, "-np": .required])
    for p in config.profiles.values {
        if let s = p.llamaServer {
            _ = try? LlamaServerCommand.build(profile: p.name, settings: s, executable: "/bin/true", dialect: dialect)
            let h = s.effectiveHealth
            for seconds in [h.interval, h.timeout, h.startupTimeout, h.generationInterval, s.effectiveQueueWait, s.effectiveRestart.window] {
                _ = Duration.milliseconds(Int(seconds * 1000)); _ = Int64(seconds * 1e9)
            }
            for b in s.effectiveRestart.backoff { _ = Int64(b * 1e9) }
        }
        if let w = p.rpcWorker {
            _ = LlamaServerCommand.rpcWorker(profile: p.name, settings: w, executable: "/bin/true",
                                             cacheDirectory: config.paths.rpcCacheDirectory(p.name))
            for b in w.effectiveRestart.backoff { _ = Int64(b * 1e9) }
        }
        if let s = p.openai {
            _ = Int64(s.effectiveTimeout * 1e9)
            _ = Int64(s.effectiveCooldown * 1e9)
        }
    }
    return 0
}

/// The process entry (SwiftPM aliases `main` to it on Linux): libFuzzer's driver on `fuzzConfig`.
@_cdecl("fuzz_config_main")
public func fuzzConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    hermes_fuzz_run(argc, argv, fuzzConfig)
}
