import Foundation
import Yams

/// Loads and validates a config root: `runtime.yaml` and `runtimes/*.yaml`.
///
/// Every problem is collected with its file, line, column and key; loading fails only on errors.
public enum ConfigLoader {
    static let commonKeys = ["kind", "description", "extends", "price", "budget"]
    static let priceKeys = ["input", "cached_input", "output"]
    static let llamaKeys = [
        "binary", "model", "host", "port", "context", "predict", "threads", "slots", "mlock", "mmap",
        "gpu_layers", "flash_attn", "cache_type", "alias", "args", "env", "health", "restart", "burst",
        "context_over", "output_reserve", "queue_wait", "load", "idle_unload", "pinned", "while_loading",
        "mmproj", "vision", "apis", "promote_bad_tool_calls", "warm_cache", "cache_ram", "speculative", "rpc",
    ]
    static let openaiKeys = ["base_url", "api_key_env", "model", "context", "fallback", "cooldown", "timeout", "headers",
                             "cooldown_after", "failure_window",
                             "apis", "vision"]
    static let healthKeys = ["path", "interval", "timeout", "startup_timeout", "failures", "generation_interval", "generation_timeout"]
    static let restartKeys = ["enabled", "backoff", "max_restarts", "window"]
    static let runtimeKeys = ["front", "logs", "daemon", "kv_cache", "budgets"]
    static let daemonKeys = ["lease", "drain_timeout"]
    static let frontKeys = ["listen", "api_key_env", "default", "aliases", "routes", "platforms", "by_source", "max_body",
                             "allowed_origins", "allowed_hosts"]
    static let logKeys = ["max_bytes", "keep"]
    static let routeKeys = ["name", "match", "profile", "action", "reason"]
    static let matchKeys = ["platform", "source_kind", "toolsets_any", "goal_matches", "model", "has_tools", "prompt_matches"]

    /// Loads the root or throws a `ConfigError` listing every error.
    public static func load(paths: RuntimePaths, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> HermesConfig
    {
        let (config, diagnostics) = validate(paths: paths, environment: environment)
        let errors = diagnostics.filter { $0.severity == .error }
        guard let config, errors.isEmpty else { throw ConfigError(errors.isEmpty ? diagnostics : errors) }
        return config
    }

    /// Loads what can be loaded and returns every diagnostic, errors and warnings.
    public static func validate(paths: RuntimePaths, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> (config: HermesConfig?, diagnostics: [ConfigDiagnostic])
    {
        var diagnostics: [ConfigDiagnostic] = []
        let fm = FileManager.default

        // runtime.yaml is optional: without it the front takes its defaults.
        var runtimeText: String?
        if fm.fileExists(atPath: paths.runtimeFile.path) {
            let reader = YAMLReader(file: paths.runtimeFile.path, environment: environment)
            runtimeText = readText(paths.runtimeFile, reader: reader)
            diagnostics += reader.diagnostics
        }

        // Profiles.
        var texts: [(name: String, file: String, text: String)] = []
        let files = ((try? fm.contentsOfDirectory(atPath: paths.profilesDirectory.path)) ?? []).sorted()
        for f in files where f.hasSuffix(".yaml") || f.hasSuffix(".yml") {
            let url = paths.profilesDirectory.appendingPathComponent(f)
            let name = (f as NSString).deletingPathExtension
            let reader = YAMLReader(file: url.path, environment: environment)
            if name.range(of: #"^[A-Za-z0-9][A-Za-z0-9._-]*$"#, options: .regularExpression) == nil {
                reader.add(.error, mark: nil, path: nil, "profile name '\(name)' (from the file name) may hold only letters, digits, '.', '_' and '-'")
            }
            if texts.contains(where: { $0.name == name }) {
                reader.add(.error, mark: nil, path: nil, "a second file defines profile '\(name)'")
            } else if let text = readText(url, reader: reader) {
                texts.append((name, url.path, text))
            }
            diagnostics += reader.diagnostics
        }
        let (config, more) = validate(runtimeText: runtimeText, profiles: texts, paths: paths, environment: environment)
        var result = config
        result.warnings = (diagnostics + more).filter { $0.severity == .warning }
        return (result, diagnostics + more)
    }

    /// Validates a config root given as texts: `runtime.yaml` (nil when absent) and each profile as
    /// `(name, file, text)`. What `validate(paths:)` does after reading the files; fuzzing and tests
    /// call it directly.
    public static func validate(
        runtimeText: String?, profiles texts: [(name: String, file: String, text: String)], paths: RuntimePaths,
        environment: [String: String]
    ) -> (config: HermesConfig, diagnostics: [ConfigDiagnostic]) {
        var diagnostics: [ConfigDiagnostic] = []
        let runtimeReader = YAMLReader(file: paths.runtimeFile.path, environment: environment)
        var runtime = RuntimeSettings(source: SourceLocation(file: paths.runtimeFile.path))
        if let runtimeText {
            runtime = parseRuntime(text: runtimeText, reader: runtimeReader)
            diagnostics += runtimeReader.diagnostics
        }
        let (profiles, profileDiagnostics, readers) = parseProfilesLocated(texts.map { ($0.name, $0.file, $0.text) }, environment: environment)
        diagnostics += profileDiagnostics

        var config = HermesConfig(paths: paths, runtime: runtime, profiles: profiles)
        diagnostics += crossCheck(config, runtime: runtimeReader, profiles: readers) + capabilityCheck(config, profiles: readers)
        diagnostics += rpcCheck(&config, runtime: runtimeReader, profiles: readers)
        config.warnings = diagnostics.filter { $0.severity == .warning }
        return (config, diagnostics)
    }

    static func readText(_ url: URL, reader: YAMLReader) -> String? {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            reader.add(.error, mark: nil, path: nil, "cannot read the file")
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            reader.add(.error, mark: nil, path: nil, "the file is not UTF-8 text")
            return nil
        }
        return text
    }
}

/// `HOST:PORT` (IPv6 as `[::1]:8082`).
public func parseHostPort(_ text: String) -> (String, Int)? {
    guard let colon = text.lastIndex(of: ":") else { return nil }
    var host = String(text[..<colon])
    guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port), !host.isEmpty else { return nil }
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host, port)
}

/// KV cache element types llama-server accepts for `-ctk`/`-ctv`, with their bytes per element.
public enum KVCacheType: String, Sendable, CaseIterable, Codable {
    case f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl

    public var bytesPerElement: Double {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q8_0: return 34.0 / 32
        case .q4_0: return 18.0 / 32
        case .q4_1: return 20.0 / 32
        case .q5_0: return 22.0 / 32
        case .q5_1: return 24.0 / 32
        case .iq4_nl: return 18.0 / 32
        }
    }
}
