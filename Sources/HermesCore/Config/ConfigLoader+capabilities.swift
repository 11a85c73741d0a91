import Foundation
import Yams

/// The profile keys that say what a profile can take: `apis`, `vision`, `mmproj`, `promote_bad_tool_calls`.
extension ConfigLoader {
    /// `apis: [chat, responses, messages]`; a single name counts as a one-element list.
    static func parseAPIs(_ node: Node, path: String, reader: YAMLReader) -> [AgentAPI]? {
        guard let names = reader.stringList(node, path: path) else { return nil }
        var out: [AgentAPI] = []
        for name in names {
            guard let api = AgentAPI(rawValue: name.lowercased()) else {
                var message = "unknown API '\(name)': expected \(AgentAPI.allCases.map(\.rawValue).joined(separator: ", "))"
                if let near = closestMatch(to: name.lowercased(), in: AgentAPI.allCases.map(\.rawValue)) {
                    message += " (did you mean '\(near)'?)"
                }
                reader.add(.error, node, path: path, message)
                continue
            }
            if !out.contains(api) { out.append(api) }
        }
        return out.sorted()
    }

    /// Checks across profiles: a burst or fallback target that speaks none of its source's APIs, and an
    /// `mmproj` that is not there. Warnings: the config works, but some requests will not go where the
    /// person may think. (A target that speaks only some of them is normal: a local server speaks all
    /// three, most clouds only `chat`; the receipt says `NAME:skipped_api` when one is skipped.)
    static func capabilityCheck(_ config: HermesConfig, profiles readers: [String: YAMLReader] = [:]) -> [ConfigDiagnostic] {
        var out: [ConfigDiagnostic] = []
        // Every diagnostic points at the key's line and column (1:1 when the key is inherited).
        func at(_ p: Profile, _ key: String) -> (line: Int, column: Int) {
            let mark = readers[p.name]?.position(of: key)
            return (mark?.line ?? 1, mark?.column ?? 1)
        }
        for p in config.profiles.values.sorted(by: { $0.name < $1.name }) {
            if let m = p.llamaServer?.mmproj, !FileManager.default.fileExists(atPath: m) {
                let mark = at(p, "mmproj")
                out.append(ConfigDiagnostic(.warning, file: p.source.file, line: mark.line, column: mark.column, keyPath: "mmproj",
                                            message: "mmproj file \(m) does not exist (the server will not start until it does)"))
            }
            let targets = [p.burst].compactMap { $0 }.map { ($0, "burst") } + p.fallback.map { ($0, "fallback") }
            for (name, key) in targets {
                guard let t = config.profiles[name], t.name != p.name else { continue }
                let missing = p.apis.filter { !t.speaks($0) }
                if missing.count == p.apis.count, !missing.isEmpty {
                    let mark = at(p, key)
                    out.append(ConfigDiagnostic(
                        .warning, file: p.source.file, line: mark.line, column: mark.column, keyPath: key,
                        message: "\(key) profile '\(name)' does not speak \(missing.map(\.rawValue).joined(separator: ", ")) "
                            + "(its apis: \(t.apis.map(\.rawValue).joined(separator: ", "))): every request skips it"))
                }
            }
        }
        return out
    }
}
