import Foundation

/// Checks of OpenAI-compatible (remote) profiles: the key is set, and `GET {base_url}/models` answers,
/// accepts the key and lists the profile's model.
public enum RemoteChecks {
    /// Every check of `remotes`; all remotes are asked at once, so an offline machine waits one timeout.
    public static func all(_ remotes: [Profile], paths: RuntimePaths, environment: [String: String],
                           facts: some DoctorFacts) async -> [DoctorCheck] {
        let answers = await withTaskGroup(of: (String, DoctorCheck?).self) { group in
            for p in remotes {
                guard let s = p.openai, s.baseURL != nil else { continue }
                let key = s.apiKeyEnv.flatMap { environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
                group.addTask { (p.name, reachability(p.name, settings: s, answer: await facts.models(s, key: key))) }
            }
            var out: [String: DoctorCheck] = [:]
            for await (name, check) in group { out[name] = check }
            return out
        }
        var out: [DoctorCheck] = []
        for p in remotes {
            guard let s = p.openai else { continue }
            if let k = key(p.name, settings: s, paths: paths, environment: environment) { out.append(k) }
            if let r = answers[p.name] ?? nil { out.append(r) }
        }
        return out
    }

    /// The key's variable is set (its value never shown); a remote off loopback without one is a warning.
    public static func key(_ name: String, settings s: OpenAISettings, paths: RuntimePaths, environment: [String: String]) -> DoctorCheck? {
        if let variable = s.apiKeyEnv {
            return (environment[variable] ?? "").isEmpty
                ? DoctorCheck(.fail, "key", profile: name, "\(variable) is not set: the remote will refuse requests",
                              fix: "export \(variable)=... (for the service: \(paths.configRoot.path)/keys.env)")
                : DoctorCheck(.ok, "key", profile: name, "\(variable) is set (value not shown)")
        }
        if let base = s.baseURL, !isLoopbackURL(base) {
            return DoctorCheck(.warn, "key", profile: name, "no api_key_env: requests go without Authorization",
                               fix: "set `api_key_env:` in runtimes/\(name).yaml to the variable holding the key")
        }
        return nil
    }

    /// What `/models` said: reachable, key accepted, model listed.
    public static func reachability(_ name: String, settings s: OpenAISettings, answer: RemoteAnswer) -> DoctorCheck {
        switch answer {
        case .failed(let url, let reason):
            return DoctorCheck(.warn, "remote", profile: name, "GET \(url) failed: \(reason)",
                               fix: "check base_url and the network (until it answers, requests for \(name) fail or go to its fallback)")
        case .answered(let url, 200, let ids):
            guard let model = s.model else {
                return DoctorCheck(.ok, "remote", profile: name, "\(url) answers (\(ids.count) model(s) listed)")
            }
            if ids.contains(model) {
                return DoctorCheck(.ok, "remote", profile: name, "\(url) answers and lists \(model)")
            }
            return DoctorCheck(.warn, "remote", profile: name, "\(url) answers but does not list \(model) among \(ids.count) model(s)",
                               fix: "check `model:` in runtimes/\(name).yaml against the provider's model names")
        case .answered(let url, let status, _) where status == 401 || status == 403:
            return DoctorCheck(.fail, "remote", profile: name, "\(url) refused the key (HTTP \(status))",
                               fix: s.apiKeyEnv.map { "check the key in \($0)" } ?? "set `api_key_env:` in runtimes/\(name).yaml")
        case .answered(let url, let status, _):
            return DoctorCheck(.warn, "remote", profile: name, "\(url) answered HTTP \(status)",
                               fix: "check base_url (requests go to base_url/chat/completions)")
        }
    }

    /// The model ids in an OpenAI-shaped `/models` body (`{"data": [{"id": ...}]}`); llama-server adds an
    /// Ollama-style `models` list beside it, which is not read.
    public static func modelIDs(_ body: Data) -> [String] {
        struct Models: Decodable {
            struct Model: Decodable { var id: String? }
            var data: [Model]?
        }
        return ((try? JSONDecoder().decode(Models.self, from: body))?.data ?? []).compactMap(\.id)
    }

    static func isLoopbackURL(_ base: String) -> Bool {
        let host = URL(string: base)?.host ?? ""
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}
