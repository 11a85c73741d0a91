import Foundation
import Yams

/// The profile files: each read into a draft, `extends` resolved, then typed by kind.
extension ConfigLoader {
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
        var price: Price?
        var budget: BudgetLimit?
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
                        case "price" where !YAMLReader.isEmpty(e.value): d.price = parsePrice(e.value, reader: reader)
                        case "budget" where !YAMLReader.isEmpty(e.value): d.budget = parseBudget(e.value, path: "budget", reader: reader)
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
                reader.add(.error, d.root, path: "kind", "missing key 'kind' (llama-server, openai or rpc-worker)")
                continue
            }
            switch kind {
            case "llama-server":
                partial[name] = .llamaServer(parseLlama(d, reader: reader))
            case "openai":
                partial[name] = .openai(parseOpenAI(d, reader: reader))
            case "rpc-worker":
                partial[name] = .rpcWorker(parseRPCWorker(d, reader: reader))
            default:
                var message = "unknown kind '\(kind)' (llama-server, openai or rpc-worker)"
                if let near = closestMatch(to: kind, in: ["llama-server", "openai", "rpc-worker"]) { message += "; did you mean '\(near)'?" }
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
                case (.rpcWorker(let own), .rpcWorker(let parent)): merged = .rpcWorker(own.inheriting(from: parent))
                default:
                    readers[name]!.add(.error, d.extendsNode, path: "extends", "extends '\(p)', a profile of another kind")
                }
                parentName = drafts[p]?.extends
            }
            let description = d.description ?? chain.dropFirst().lazy.compactMap { drafts[$0]?.description }.first
            var profile = Profile(name: name, description: description, kind: merged,
                                  source: SourceLocation(file: d.file, line: d.root?.mark?.line))
            profile.price = d.price ?? chain.dropFirst().lazy.compactMap { drafts[$0]?.price }.first
            profile.budget = d.budget ?? chain.dropFirst().lazy.compactMap { drafts[$0]?.budget }.first
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
}
