import Foundation
import Yams

/// runtime.yaml: the front, its routes, logs, GPU and daemon settings.
extension ConfigLoader {
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
            case "kv_cache": settings.kvCache = parseKVCache(e.value, reader: reader)
            case "budgets": settings.budgets = parseBudgets(e.value, reader: reader)
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
            case "allowed_origins", "allowed_hosts": parseAccessList(e, into: &front, reader: reader)
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
}
