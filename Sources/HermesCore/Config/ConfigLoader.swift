import Foundation
import Yams

/// Loads and validates a config root: `runtime.yaml` and `runtimes/*.yaml`.
///
/// Every problem is collected with its file, line, column and key; loading fails only on errors.
public enum ConfigLoader {
    static let commonKeys = ["kind", "description", "extends"]
    static let llamaKeys = [
        "binary", "model", "host", "port", "context", "predict", "threads", "slots", "mlock", "mmap",
        "gpu_layers", "flash_attn", "cache_type", "alias", "args", "env", "health", "restart", "burst",
        "context_over", "output_reserve", "queue_wait", "load", "idle_unload", "pinned", "while_loading",
        "mmproj", "vision", "apis", "promote_bad_tool_calls",
    ]
    static let openaiKeys = ["base_url", "api_key_env", "model", "context", "fallback", "cooldown", "timeout", "headers",
                             "apis", "vision"]
    static let healthKeys = ["path", "interval", "timeout", "startup_timeout", "failures", "generation_interval"]
    static let restartKeys = ["enabled", "backoff", "max_restarts", "window"]
    static let runtimeKeys = ["front", "logs", "daemon"]
    static let daemonKeys = ["lease", "drain_timeout"]
    static let frontKeys = ["listen", "api_key_env", "default", "aliases", "routes", "platforms", "by_source", "max_body"]
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

    // MARK: runtime.yaml

    /// Parses `runtime.yaml` text; problems go to `reader`.
    static func parseRuntime(text: String, reader: YAMLReader) -> RuntimeSettings {
        var settings = RuntimeSettings(source: SourceLocation(file: reader.file))
        guard let root = reader.compose(text), !YAMLReader.isEmpty(root),
            let entries = reader.mapping(root, path: "", allowed: runtimeKeys)
        else { return settings }
        for e in entries where !YAMLReader.isEmpty(e.value) {
            switch e.key {
            case "front": settings.front = parseFront(e.value, reader: reader)
            case "logs":
                for l in reader.mapping(e.value, path: "logs", allowed: logKeys) ?? [] {
                    switch l.key {
                    case "max_bytes":
                        if let v = reader.bytes(l.value, path: "logs.max_bytes", range: ConfigLimits.logBytes) { settings.logs.maxBytes = v }
                    case "keep": if let v = reader.int(l.value, path: "logs.keep", range: 1...100) { settings.logs.keep = v }
                    default: break
                    }
                }
            case "daemon":
                for d in reader.mapping(e.value, path: "daemon", allowed: daemonKeys) ?? [] {
                    switch d.key {
                    case "lease": if let v = reader.int(d.value, path: "daemon.lease", range: 5...86_400) { settings.daemon.lease = v }
                    case "drain_timeout":
                        if let v = reader.int(d.value, path: "daemon.drain_timeout", range: 0...3600) { settings.daemon.drainTimeout = v }
                    default: break
                    }
                }
            default: break
            }
        }
        return settings
    }

    static func parseFront(_ node: Node, reader: YAMLReader) -> FrontSettings {
        var front = FrontSettings()
        var legacy: [Route] = []
        for e in reader.mapping(node, path: "front", allowed: frontKeys) ?? [] where !YAMLReader.isEmpty(e.value) {
            let path = "front.\(e.key)"
            switch e.key {
            case "listen":
                guard let text = reader.string(e.value, path: path) else { break }
                if let (h, p) = parseHostPort(text) { front.host = h; front.port = p } else {
                    reader.add(.error, e.value, path: path, "expected HOST:PORT such as 127.0.0.1:8082, found '\(text)'")
                }
            case "api_key_env": front.apiKeyEnv = checkedEnvName(e.value, path: path, reader: reader)
            case "default": front.defaultProfile = reader.string(e.value, path: path)
            case "aliases": front.aliases = reader.stringMap(e.value, path: path) ?? [:]
            case "max_body": if let v = reader.bytes(e.value, path: path, range: ConfigLimits.bodyBytes) { front.maxBodyBytes = v }
            case "routes":
                guard case .sequence(let seq) = e.value else {
                    reader.add(.error, e.value, path: path, "expected a list of routes")
                    break
                }
                for (i, item) in seq.enumerated() {
                    if let r = parseRoute(item, path: "\(path)[\(i)]", reader: reader) { front.routes.append(r) }
                }
            case "platforms", "by_source":
                // Legacy shorthands (seed match-routes PR): `platforms: {discord: review-cheap}` or
                // `{discord: {profile: review-cheap}}`; they become routes after the explicit ones.
                for p in reader.mapping(e.value, path: path, allowed: nil) ?? [] {
                    let subpath = "\(path).\(p.key)"
                    var target: String?
                    if case .mapping = p.value {
                        for f in reader.mapping(p.value, path: subpath, allowed: ["profile"]) ?? [] {
                            target = reader.string(f.value, path: "\(subpath).profile")
                        }
                    } else {
                        target = reader.string(p.value, path: subpath)
                    }
                    guard let target else {
                        reader.add(.error, p.value, path: subpath, "name the profile for \(p.key)")
                        continue
                    }
                    var match = RouteMatch()
                    if e.key == "platforms" { match.platform = [p.key] } else { match.sourceKind = [p.key] }
                    legacy.append(Route(match: match, target: .profile(target), name: "\(e.key).\(p.key)",
                                        source: SourceLocation(file: reader.file, line: p.keyNode.mark?.line)))
                }
            default: break
            }
        }
        front.routes += legacy
        checkExposure(front, node: node, reader: reader)
        return front
    }

    static func parseRoute(_ node: Node, path: String, reader: YAMLReader) -> Route? {
        guard let entries = reader.mapping(node, path: path, allowed: routeKeys) else { return nil }
        var match = RouteMatch()
        var profile: String?
        var action: String?
        var reason: String?
        var name: String?
        var matchNode: Node?
        for e in entries where !YAMLReader.isEmpty(e.value) {
            let p = "\(path).\(e.key)"
            switch e.key {
            case "name": name = reader.string(e.value, path: p)
            case "profile": profile = reader.string(e.value, path: p)
            case "reason": reason = reader.string(e.value, path: p)
            case "action":
                action = reader.string(e.value, path: p)
                if let a = action, a != "confirm" {
                    reader.add(.error, e.value, path: p, "unknown action '\(a)' (the only action is 'confirm')")
                    return nil
                }
            case "match":
                matchNode = e.value
                for m in reader.mapping(e.value, path: p, allowed: matchKeys) ?? [] where !YAMLReader.isEmpty(m.value) {
                    let mp = "\(p).\(m.key)"
                    switch m.key {
                    case "platform": match.platform = reader.stringList(m.value, path: mp)
                    case "source_kind": match.sourceKind = reader.stringList(m.value, path: mp)
                    case "toolsets_any": match.toolsetsAny = reader.stringList(m.value, path: mp)
                    case "model": match.model = reader.stringList(m.value, path: mp)
                    case "has_tools": match.hasTools = reader.bool(m.value, path: mp)
                    case "goal_matches", "prompt_matches":
                        let patterns = reader.stringList(m.value, path: mp) ?? []
                        for pattern in patterns where (try? NSRegularExpression(pattern: pattern)) == nil {
                            reader.add(.error, m.value, path: mp, "'\(pattern)' is not a valid regular expression")
                        }
                        if m.key == "goal_matches" { match.goalMatches = patterns } else { match.promptMatches = patterns }
                    default: break
                    }
                }
            default: break
            }
        }
        let location = SourceLocation(file: reader.file, line: node.mark?.line)
        switch (profile, action) {
        case (let p?, nil):
            if match.isEmpty {
                reader.add(.warning, matchNode ?? node, path: "\(path).match", "a route with no conditions matches every request")
            }
            return Route(match: match, target: .profile(p), name: name, source: location)
        case (nil, "confirm"):
            return Route(match: match, target: .confirm(reason: reason), name: name, source: location)
        case (_?, _?):
            reader.add(.error, node, path: path, "a route names either a profile or an action, not both")
        default:
            reader.add(.error, node, path: path, "a route needs 'profile: NAME' or 'action: confirm'")
        }
        return nil
    }

    // MARK: profiles

    struct Draft {
        var name: String
        var file: String
        var root: Node?
        var entries: [(key: String, keyNode: Node, value: Node)]
        var kind: String?
        var kindNode: Node?
        var extends: String?
        var extendsNode: Node?
        var description: String?
    }

    /// Parses profile texts `(name, file, text)`, resolving `extends` and kinds.
    public static func parseProfiles(_ inputs: [(String, String, String)], environment: [String: String])
        -> ([String: Profile], [ConfigDiagnostic])
    {
        let (profiles, diagnostics, _) = parseProfilesLocated(inputs, environment: environment)
        return (profiles, diagnostics)
    }

    /// `parseProfiles`, also returning each profile's reader (by name), which knows where every key was.
    static func parseProfilesLocated(_ inputs: [(String, String, String)], environment: [String: String])
        -> ([String: Profile], [ConfigDiagnostic], [String: YAMLReader])
    {
        var diagnostics: [ConfigDiagnostic] = []
        var readers: [String: YAMLReader] = [:]
        var drafts: [String: Draft] = [:]
        for (name, file, text) in inputs {
            let reader = YAMLReader(file: file, environment: environment)
            readers[name] = reader
            var d = Draft(name: name, file: file, root: nil, entries: [])
            if let root = reader.compose(text) {
                if YAMLReader.isEmpty(root) {
                    reader.add(.error, mark: nil, path: nil, "the profile is empty (it needs at least 'kind')")
                } else if let entries = reader.mapping(root, path: "", allowed: nil) {
                    d.root = root
                    d.entries = entries
                    for e in entries {
                        switch e.key {
                        case "kind": d.kind = reader.string(e.value, path: "kind"); d.kindNode = e.value
                        case "extends": d.extends = reader.string(e.value, path: "extends"); d.extendsNode = e.value
                        case "description": d.description = reader.string(e.value, path: "description")
                        default: break
                        }
                    }
                }
            }
            drafts[name] = d
        }

        // A profile's kind is its own or, through `extends`, its ancestor's.
        func resolvedKind(_ name: String, seen: Set<String> = []) -> String? {
            guard let d = drafts[name], !seen.contains(name) else { return nil }
            if let k = d.kind { return k }
            if let parent = d.extends { return resolvedKind(parent, seen: seen.union([name])) }
            return nil
        }

        var partial: [String: Profile.Kind] = [:]
        for (name, d) in drafts where d.root != nil {
            let reader = readers[name]!
            if let parent = d.extends, drafts[parent] == nil {
                var message = "extends '\(parent)', which is not a profile"
                if let near = closestMatch(to: parent, in: Array(drafts.keys)) { message += " (did you mean '\(near)'?)" }
                reader.add(.error, d.extendsNode, path: "extends", message)
            }
            guard let kind = resolvedKind(name) else {
                reader.add(.error, d.root, path: "kind", "missing key 'kind' (llama-server or openai)")
                continue
            }
            switch kind {
            case "llama-server":
                partial[name] = .llamaServer(parseLlama(d, reader: reader))
            case "openai":
                partial[name] = .openai(parseOpenAI(d, reader: reader))
            default:
                var message = "unknown kind '\(kind)' (llama-server or openai)"
                if let near = closestMatch(to: kind, in: ["llama-server", "openai"]) { message += "; did you mean '\(near)'?" }
                reader.add(.error, d.kindNode ?? d.root, path: "kind", message)
            }
        }

        // Inheritance: walk up `extends`, child fields win. A cycle is an error.
        var profiles: [String: Profile] = [:]
        for (name, kind) in partial {
            let d = drafts[name]!
            var merged = kind
            var chain = [name]
            var parentName = d.extends
            while let p = parentName {
                if chain.contains(p) {
                    readers[name]!.add(.error, d.extendsNode, path: "extends", "extends cycle: \((chain + [p]).joined(separator: " -> "))")
                    break
                }
                chain.append(p)
                guard let parentKind = partial[p] else { break }
                switch (merged, parentKind) {
                case (.llamaServer(let own), .llamaServer(let parent)): merged = .llamaServer(own.inheriting(from: parent))
                case (.openai(let own), .openai(let parent)): merged = .openai(own.inheriting(from: parent))
                default:
                    readers[name]!.add(.error, d.extendsNode, path: "extends", "extends '\(p)', a profile of another kind")
                }
                parentName = drafts[p]?.extends
            }
            let description = d.description ?? chain.dropFirst().lazy.compactMap { drafts[$0]?.description }.first
            let profile = Profile(name: name, description: description, kind: merged,
                                  source: SourceLocation(file: d.file, line: d.root?.mark?.line))
            profiles[name] = profile
            checkProfile(profile, draft: d, reader: readers[name]!)
        }
        for name in inputs.map(\.0) { diagnostics += readers[name]?.diagnostics ?? [] }
        return (profiles, diagnostics, readers)
    }

    static func otherKindHint(_ key: String, kind: String) -> String? {
        if kind == "llama-server", openaiKeys.contains(key) { return "'\(key)' belongs to kind: openai profiles" }
        if kind == "openai", llamaKeys.contains(key) { return "'\(key)' belongs to kind: llama-server profiles" }
        return nil
    }

    static func unknownKey(_ e: (key: String, keyNode: Node, value: Node), kind: String, allowed: [String], reader: YAMLReader) {
        var message = "unknown key '\(e.key)' for a \(kind) profile"
        if let hint = otherKindHint(e.key, kind: kind) {
            message += " (\(hint))"
        } else if let near = closestMatch(to: e.key, in: allowed) {
            message += " (did you mean '\(near)'?)"
        }
        reader.add(.error, e.keyNode, path: e.key, message)
    }

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
                    default: break
                    }
                }
                s.health = h
            case "restart":
                var r = RestartSettings()
                for f in reader.mapping(v, path: k, allowed: restartKeys) ?? [] where !YAMLReader.isEmpty(f.value) {
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
                s.restart = r
            default: break
            }
        }
        return s
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
            if let c = s.context, let n = s.slots, c > 0, c / n < 512 {
                reader.add(.warning, node("slots"), path: "slots", "context \(c) over \(n) slots leaves \(c / n) tokens per slot")
            }
        case .openai(let s):
            if s.baseURL == nil { reader.add(.error, d.root, path: "base_url", "missing key 'base_url'") }
        }
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
