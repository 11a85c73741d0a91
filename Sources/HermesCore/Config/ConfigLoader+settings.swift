import Foundation
import Yams

/// One profile's keys, typed by kind (llama-server or an OpenAI-compatible remote), and the checks
/// within one profile.
extension ConfigLoader {
    static func parseLlama(_ d: Draft, reader: YAMLReader) -> LlamaServerSettings {
        var s = LlamaServerSettings()
        let allowed = commonKeys + llamaKeys
        for e in d.entries {
            guard allowed.contains(e.key) else { unknownKey(e, kind: "llama-server", allowed: allowed, reader: reader); continue }
            if YAMLReader.isEmpty(e.value) { continue }
            let k = e.key, v = e.value
            switch k {
            case "binary": s.binary = reader.string(v, path: k)
            case "model": s.model = reader.string(v, path: k)
            case "host": s.host = reader.string(v, path: k)
            case "port": s.port = reader.int(v, path: k, range: 1...65535)
            case "context": s.context = reader.int(v, path: k, range: 0...ConfigLimits.tokens)
            case "predict": s.predict = reader.int(v, path: k, range: -2...ConfigLimits.tokens)
            case "threads": s.threads = reader.int(v, path: k, range: -1...4096)
            case "slots": s.slots = reader.int(v, path: k, range: 1...256)
            case "mlock": s.mlock = reader.bool(v, path: k)
            case "mmap": s.mmap = reader.bool(v, path: k)
            case "gpu_layers":
                if let g = reader.string(v, path: k) {
                    if g == "all" || g == "auto" || (Int(g).map { $0 >= 0 } ?? false) { s.gpuLayers = g } else {
                        reader.add(.error, v, path: k, "expected all, auto or a layer count, found '\(g)'")
                    }
                }
            case "flash_attn":
                // YAML reads a bare `on`/`off` as a boolean-looking scalar; accept both spellings.
                if let f = reader.string(v, path: k)?.lowercased() {
                    let mapped = ["true": "on", "yes": "on", "false": "off", "no": "off"][f] ?? f
                    if ["on", "off", "auto"].contains(mapped) { s.flashAttn = mapped } else {
                        reader.add(.error, v, path: k, "expected on, off or auto, found '\(f)'")
                    }
                }
            case "cache_type":
                if let c = reader.string(v, path: k) {
                    if KVCacheType(rawValue: c) != nil { s.cacheType = c } else {
                        reader.add(.error, v, path: k, "expected one of \(KVCacheType.allCases.map(\.rawValue).joined(separator: ", ")), found '\(c)'")
                    }
                }
            case "alias": s.alias = reader.string(v, path: k)
            case "args": s.args = reader.stringList(v, path: k)
            case "env": s.env = reader.stringMap(v, path: k)
            case "burst": s.burst = reader.string(v, path: k)
            case "context_over": s.contextOver = reader.int(v, path: k, range: 1...ConfigLimits.tokens)
            case "output_reserve": s.outputReserve = reader.int(v, path: k, range: 0...ConfigLimits.tokens)
            case "queue_wait": s.queueWait = reader.duration(v, path: k)
            case "load":
                if let t = reader.string(v, path: k) {
                    if let m = LoadMode(rawValue: t) { s.load = m } else {
                        var message = "expected on-demand, always or manual, found '\(t)'"
                        if let near = closestMatch(to: t, in: LoadMode.allCases.map(\.rawValue)) { message += " (did you mean '\(near)'?)" }
                        reader.add(.error, v, path: k, message)
                    }
                }
            case "idle_unload":
                // Read past the usual one-day limit so the 7-day cap below names itself.
                if let d = reader.duration(v, path: k, range: 0...(LlamaServerSettings.maxIdleUnload * 1000)) {
                    if d <= LlamaServerSettings.maxIdleUnload { s.idleUnload = d } else {
                        reader.add(.error, v, path: k, "at most 7 days (\(Int(LlamaServerSettings.maxIdleUnload))s); 0 means never")
                    }
                }
            case "pinned": s.pinned = reader.bool(v, path: k)
            case "while_loading":
                if let t = reader.string(v, path: k) {
                    if let w = WhileLoading(rawValue: t) { s.whileLoading = w } else {
                        reader.add(.error, v, path: k, "expected wait or burst, found '\(t)'")
                    }
                }
            case "mmproj": s.mmproj = reader.string(v, path: k)
            case "vision": s.vision = reader.bool(v, path: k)
            case "apis": s.apis = parseAPIs(v, path: k, reader: reader)
            case "promote_bad_tool_calls": s.promoteBadToolCalls = reader.bool(v, path: k)
            case "warm_cache": s.warmCache = reader.bool(v, path: k)
            case "cache_ram": s.cacheRAM = reader.int(v, path: k, range: KVCacheSettings.cacheRAMRange)
            case "speculative": s.speculative = parseSpeculative(v, reader: reader)
            case "rpc": s.rpc = reader.stringList(v, path: k)
            case "health":
                var h = HealthSettings()
                for f in reader.mapping(v, path: k, allowed: healthKeys) ?? [] where !YAMLReader.isEmpty(f.value) {
                    let p = "health.\(f.key)"
                    switch f.key {
                    case "path": h.path = reader.string(f.value, path: p)
                    case "interval": h.interval = reader.duration(f.value, path: p)
                    case "timeout": h.timeout = reader.duration(f.value, path: p)
                    case "startup_timeout": h.startupTimeout = reader.duration(f.value, path: p)
                    case "failures": h.failures = reader.int(f.value, path: p, range: 1...100)
                    case "generation_interval": h.generationInterval = reader.duration(f.value, path: p)
                    case "generation_timeout": h.generationTimeout = reader.duration(f.value, path: p)
                    default: break
                    }
                }
                s.health = h
            case "restart": s.restart = parseRestart(v, reader: reader)
            default: break
            }
        }
        return s
    }

    /// A `restart:` block, the same for every supervised kind.
    static func parseRestart(_ v: Node, reader: YAMLReader) -> RestartSettings {
        var r = RestartSettings()
        for f in reader.mapping(v, path: "restart", allowed: restartKeys) ?? [] where !YAMLReader.isEmpty(f.value) {
            let p = "restart.\(f.key)"
            switch f.key {
            case "enabled": r.enabled = reader.bool(f.value, path: p)
            case "backoff":
                if case .sequence(let seq) = f.value {
                    r.backoff = seq.enumerated().compactMap { reader.duration($1, path: "\(p)[\($0)]") }
                } else if let one = reader.duration(f.value, path: p) { r.backoff = [one] }
            case "max_restarts": r.maxRestarts = reader.int(f.value, path: p, range: 0...1000)
            case "window": r.window = reader.duration(f.value, path: p, range: ConfigLimits.restartWindow)
            default: break
            }
        }
        return r
    }

    static func parseOpenAI(_ d: Draft, reader: YAMLReader) -> OpenAISettings {
        var s = OpenAISettings()
        let allowed = commonKeys + openaiKeys
        for e in d.entries {
            guard allowed.contains(e.key) else { unknownKey(e, kind: "openai", allowed: allowed, reader: reader); continue }
            if YAMLReader.isEmpty(e.value) { continue }
            let k = e.key, v = e.value
            switch k {
            case "base_url":
                if let u = reader.string(v, path: k) {
                    if let url = URL(string: u), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil {
                        s.baseURL = u.hasSuffix("/") ? String(u.dropLast()) : u
                    } else {
                        reader.add(.error, v, path: k, "expected an http(s) URL such as https://openrouter.ai/api/v1, found '\(u)'")
                    }
                }
            case "api_key_env": s.apiKeyEnv = checkedEnvName(v, path: k, reader: reader)
            case "model": s.model = reader.string(v, path: k)
            case "context": s.context = reader.int(v, path: k, range: 1...ConfigLimits.tokens)
            case "fallback": s.fallback = reader.stringList(v, path: k)
            case "cooldown": s.cooldown = reader.duration(v, path: k)
            case "timeout": s.timeout = reader.duration(v, path: k)
            case "cooldown_after": s.cooldownAfter = reader.int(v, path: k, range: ConfigLimits.cooldownAfter)
            case "failure_window": s.failureWindow = reader.duration(v, path: k)
            case "headers": s.headers = reader.stringMap(v, path: k)
            case "apis": s.apis = parseAPIs(v, path: k, reader: reader)
            case "vision": s.vision = reader.bool(v, path: k)
            default: break
            }
        }
        return s
    }

    /// `api_key_env` holds a variable NAME. A value that looks like a key is refused without echoing it.
    static func checkedEnvName(_ node: Node, path: String, reader: YAMLReader) -> String? {
        guard let name = reader.string(node, path: path, expand: false) else { return nil }
        if name.range(of: #"^[A-Za-z_][A-Za-z0-9_]*$"#, options: .regularExpression) == nil {
            reader.add(.error, node, path: path,
                       "api_key_env takes the NAME of an environment variable (e.g. OPENROUTER_API_KEY), not a key; the value was not shown")
            return nil
        }
        return name
    }

    /// Checks that need the merged profile (after `extends`).
    static func checkProfile(_ p: Profile, draft d: Draft, reader: YAMLReader) {
        func node(_ key: String) -> Node? { d.entries.first { $0.key == key }?.value ?? d.root }
        switch p.kind {
        case .llamaServer(let s):
            if s.model == nil { reader.add(.error, d.root, path: "model", "missing key 'model' (path to a .gguf file)") }
            if s.port == nil { reader.add(.error, d.root, path: "port", "missing key 'port'") }
            if let m = s.model, !FileManager.default.fileExists(atPath: m) {
                reader.add(.warning, node("model"), path: "model", "model file \(m) does not exist (the profile cannot start until it does)")
            }
            if s.effectiveLoad != .onDemand {
                if s.idleUnload.map({ $0 > 0 }) == true {
                    reader.add(.warning, node("idle_unload"), path: "idle_unload", "idle_unload applies only to load: on-demand profiles")
                }
                if s.whileLoading != nil {
                    reader.add(.warning, node("while_loading"), path: "while_loading", "while_loading applies only to load: on-demand profiles")
                }
            } else if s.whileLoading == .burst, s.burst == nil {
                reader.add(.warning, node("while_loading"), path: "while_loading",
                           "while_loading: burst without a burst profile: requests wait for the load")
            }
            checkWarmCache(s, node: node("warm_cache"), reader: reader)
            if let c = s.context, let n = s.slots, c > 0, c / n < 512 {
                reader.add(.warning, node("slots"), path: "slots", "context \(c) over \(n) slots leaves \(c / n) tokens per slot")
            }
        case .openai(let s):
            if s.baseURL == nil { reader.add(.error, d.root, path: "base_url", "missing key 'base_url'") }
        case .rpcWorker(let s):
            checkRPCWorker(s, node: node, reader: reader)
        }
    }
}
