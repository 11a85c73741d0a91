import Yams

extension ConfigLoader {
    /// Checks across files: names that must resolve, ports that must not collide, burst/fallback edges
    /// that must not loop. Each problem points at the line and column of the key that causes it
    /// (`burst: cloud` -> that line), found through the readers that parsed each file.
    static func crossCheck(_ config: HermesConfig, runtime: YAMLReader, profiles readers: [String: YAMLReader])
        -> [ConfigDiagnostic]
    {
        var out: [ConfigDiagnostic] = []
        let names = Array(config.profiles.keys)
        let front = config.runtime.front
        let runtimeFile = config.runtime.source.file

        func located(_ severity: ConfigDiagnostic.Severity = .error, file: String, reader: YAMLReader?, key: String,
                     _ message: String) {
            let mark = reader?.position(of: key)
            out.append(ConfigDiagnostic(severity, file: file, line: mark?.line ?? 1, column: mark?.column ?? 1,
                                        keyPath: key, message: message))
        }
        func missing(_ target: String, file: String, reader: YAMLReader?, key: String, what: String) {
            var message = "\(what) names profile '\(target)', which does not exist"
            if let near = closestMatch(to: target, in: names) { message += " (did you mean '\(near)'?)" }
            located(file: file, reader: reader, key: key, message)
        }

        if let d = front.defaultProfile, config.profile(named: d) == nil {
            missing(d, file: runtimeFile, reader: runtime, key: "front.default", what: "front.default")
        }
        for (alias, target) in front.aliases.sorted(by: { $0.key < $1.key }) where config.profiles[target] == nil {
            missing(target, file: runtimeFile, reader: runtime, key: "front.aliases.\(alias)", what: "alias '\(alias)'")
        }
        for (i, r) in front.routes.enumerated() {
            if case .profile(let t) = r.target, config.profile(named: t) == nil {
                // Legacy `platforms:`/`by_source:` routes are named by their key path.
                let key = r.name.flatMap { $0.hasPrefix("platforms.") || $0.hasPrefix("by_source.") ? "front.\($0)" : nil }
                    ?? "front.routes[\(i)].profile"
                missing(t, file: r.source.file, reader: runtime, key: key, what: "route \(r.name ?? "#\(i + 1)")")
            }
        }

        var ports: [Int: String] = [:]
        for p in config.profiles.values.sorted(by: { $0.name < $1.name }) {
            let reader = readers[p.name]
            let file = p.source.file
            if let b = p.burst {
                if b == p.name {
                    located(file: file, reader: reader, key: "burst", "a profile cannot burst to itself")
                } else if config.profiles[b] == nil {
                    missing(b, file: file, reader: reader, key: "burst", what: "burst")
                }
            }
            for (i, f) in p.fallback.enumerated() {
                if f == p.name {
                    located(file: file, reader: reader, key: "fallback[\(i)]", "a profile cannot fall back to itself")
                } else if config.profiles[f] == nil {
                    missing(f, file: file, reader: reader, key: "fallback[\(i)]", what: "fallback")
                }
            }
            if let s = p.llamaServer, let port = s.port {
                if let other = ports[port] {
                    located(file: file, reader: reader, key: "port", "port \(port) is also used by profile '\(other)'")
                } else if port == front.port {
                    located(file: file, reader: reader, key: "port", "port \(port) is the front's port (front.listen in runtime.yaml)")
                } else {
                    ports[port] = p.name
                }
            }
        }

        // Burst and fallback edges must not loop: a request could bounce forever.
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        func visit(_ n: String, _ path: [String]) {
            guard let p = config.profiles[n] else { return }
            state[n] = 1
            for next in ([p.burst].compactMap { $0 } + p.fallback) where config.profiles[next] != nil && next != n {
                if state[next] == 1 {
                    let cycle = path + [n, next]
                    let start = cycle.firstIndex(of: next) ?? 0
                    let key = p.isLocal ? "burst" : "fallback[\(p.fallback.firstIndex(of: next) ?? 0)]"
                    located(file: p.source.file, reader: readers[n], key: key,
                            "burst/fallback cycle: \(cycle[start...].joined(separator: " -> "))")
                } else if state[next] == nil {
                    visit(next, path + [n])
                }
            }
            state[n] = 2
        }
        for n in names.sorted() where state[n] == nil { visit(n, []) }
        return out
    }

    /// A front off loopback without a key would be refused by the daemon at start (the front then does
    /// not serve while `start` exits 0): refuse it here, at the `listen` line, instead.
    static func checkExposure(_ front: FrontSettings, node: Node, reader: YAMLReader) {
        guard !isLoopback(front.host) else { return }
        guard let name = front.apiKeyEnv else {
            reader.add(.error, at: reader.position(of: "front.listen") ?? node.mark.map(YAMLReader.Position.init), path: "front.listen",
                       "the front would listen on \(front.host), off loopback, without a key: set front.api_key_env "
                           + "to the NAME of a variable holding the key clients must send, or listen on 127.0.0.1")
            return
        }
        if (reader.environment[name] ?? "").isEmpty {
            reader.add(.warning, at: reader.position(of: "front.api_key_env") ?? node.mark.map(YAMLReader.Position.init), path: "front.api_key_env",
                       "\(name) is not set here: the daemon refuses to serve off loopback until it is set in its environment")
        }
    }

    /// `localhost`, `::1` or any 127.x address: what only this machine can reach.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
