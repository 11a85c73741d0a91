import Foundation
import Yams

/// Turns a Hermes agent profile (`config.yaml` with a `model:` block, and the `.env` beside it) into an
/// equivalent `kind: openai` runtime profile.
///
/// Secrets are never copied: the profile records only the NAME of the variable holding the key
/// (`api_key_env`). A literal `api_key` in `config.yaml` is matched against the `.env` values to learn
/// that name; nothing derived from the key's value is ever put in a message.
public enum HermesProfileImport {
    /// A provider Hermes knows by name: its OpenAI-compatible base URL and the variable its key is usually in.
    public struct Provider: Sendable, Equatable {
        public var baseURL: String
        public var keyVariable: String?
    }

    /// Providers that a Hermes config may name without a `base_url`.
    public static let knownProviders: [String: Provider] = [
        "openrouter": Provider(baseURL: "https://openrouter.ai/api/v1", keyVariable: "OPENROUTER_API_KEY"),
        "openai": Provider(baseURL: "https://api.openai.com/v1", keyVariable: "OPENAI_API_KEY"),
        "anthropic": Provider(baseURL: "https://api.anthropic.com/v1", keyVariable: "ANTHROPIC_API_KEY"),
        "together": Provider(baseURL: "https://api.together.xyz/v1", keyVariable: "TOGETHER_API_KEY"),
        "nous": Provider(baseURL: "https://inference-api.nousresearch.com/v1", keyVariable: "NOUS_API_KEY"),
        "deepseek": Provider(baseURL: "https://api.deepseek.com/v1", keyVariable: "DEEPSEEK_API_KEY"),
        "groq": Provider(baseURL: "https://api.groq.com/openai/v1", keyVariable: "GROQ_API_KEY"),
        "mistral": Provider(baseURL: "https://api.mistral.ai/v1", keyVariable: "MISTRAL_API_KEY"),
        "gemini": Provider(baseURL: "https://generativelanguage.googleapis.com/v1beta/openai", keyVariable: "GEMINI_API_KEY"),
        "xai": Provider(baseURL: "https://api.x.ai/v1", keyVariable: "XAI_API_KEY"),
        "fireworks": Provider(baseURL: "https://api.fireworks.ai/inference/v1", keyVariable: "FIREWORKS_API_KEY"),
        "ollama": Provider(baseURL: "http://127.0.0.1:11434/v1", keyVariable: nil),
    ]

    /// Where the key comes from, for the report.
    public enum KeySource: Sendable, Equatable {
        /// `api_key: ${VAR}` in config.yaml.
        case reference(String)
        /// A literal key in config.yaml whose value the `.env` variable of this name holds.
        case matchedInDotenv(String)
        /// A literal key found nowhere else: the user must put it in this variable.
        case literalNotFound(String)
        /// No `api_key`; the provider's usual variable, set in `.env` or the environment.
        case providerDefault(String, isSet: Bool)
        /// No key needed or known (a local server).
        case none
    }

    /// The imported profile and what a person needs to know about it.
    public struct Result: Sendable, Equatable {
        public var name: String
        /// The `runtimes/NAME.yaml` text.
        public var yaml: String
        public var baseURL: String
        public var model: String?
        public var context: Int?
        public var apiKeyEnv: String?
        public var keySource: KeySource
        /// Things to tell the user (which variable to set, what was assumed), never holding a secret.
        public var notes: [String]
    }

    /// Why a profile cannot be imported.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var hint: String?
        public init(_ message: String, hint: String? = nil) {
            self.message = message
            self.hint = hint
        }
        public var description: String { message }
    }

    /// A profile name from a directory name: letters, digits, `.`, `_`, `-`, starting with a letter or digit.
    public static func profileName(fromDirectory dir: String) -> String {
        let base = URL(fileURLWithPath: dir).standardizedFileURL.lastPathComponent
        var name = String(base.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "-" })
        while let first = name.first, !(first.isLetter || first.isNumber) { name.removeFirst() }
        return name.isEmpty ? "hermes" : name
    }

    /// Parses `.env` text: `KEY=value`, `export KEY=value`, quotes removed, `#` comments skipped.
    public static func parseDotenv(_ text: String) -> [(name: String, value: String)] {
        var out: [(String, String)] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let name = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            guard name.range(of: #"^[A-Za-z_][A-Za-z0-9_]*$"#, options: .regularExpression) != nil else { continue }
            out.append((name, value))
        }
        return out
    }

    /// `${VAR}`, `${VAR:-default}` or `$VAR`: the variable's name; nil for a literal.
    static func referencedVariable(_ value: String) -> String? {
        let patterns = [#"^\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}$"#, #"^\$([A-Za-z_][A-Za-z0-9_]*)$"#]
        for p in patterns {
            guard let regex = try? NSRegularExpression(pattern: p),
                let m = regex.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)),
                let r = Range(m.range(at: 1), in: value)
            else { continue }
            return String(value[r])
        }
        return nil
    }

    /// Converts a Hermes profile.
    /// - Parameters:
    ///   - configYAML: the text of the profile's `config.yaml`.
    ///   - dotenv: the text of the `.env` beside it, if any.
    ///   - name: the runtime profile's name.
    ///   - source: the directory, for the comment at the top of the written file.
    ///   - environment: the process environment (to say whether a variable is set; values are not read out).
    public static func convert(configYAML: String, dotenv: String?, name: String, source: String,
                               environment: [String: String]) throws -> Result
    {
        let root: Any?
        do {
            root = try Yams.load(yaml: configYAML)
        } catch {
            throw Failure("config.yaml is not valid YAML: \(error)")
        }
        guard let top = root as? [String: Any] else {
            throw Failure("config.yaml holds no settings (expected a mapping with a `model:` block)")
        }
        var block: [String: Any]
        if let m = top["model"] as? [String: Any] {
            block = m
        } else if let m = top["model"] as? String {
            // An older, shorter form: `model: NAME` with the provider settings beside it.
            block = ["default": m]
            for key in ["provider", "base_url", "api_key", "context_length"] where top[key] != nil { block[key] = top[key] }
        } else {
            throw Failure("config.yaml has no `model:` block", hint: "a Hermes profile names its model as `model: {provider, base_url, default, api_key}`")
        }
        func text(_ key: String) -> String? {
            guard let v = block[key] else { return nil }
            let s = "\(v)".trimmingCharacters(in: .whitespaces)
            return s.isEmpty ? nil : s
        }

        let provider = text("provider")?.lowercased()
        var notes: [String] = []
        let known = provider.flatMap { knownProviders[$0] }
        var baseURL: String
        if let b = text("base_url") {
            baseURL = b
        } else if let known {
            baseURL = known.baseURL
            notes.append("config.yaml has no base_url; provider '\(provider!)' means \(known.baseURL)")
        } else if let provider {
            throw Failure("provider '\(provider)' needs a base_url and config.yaml has none",
                          hint: "known providers: \(knownProviders.keys.sorted().joined(separator: ", ")); or add `base_url:` to the model block")
        } else {
            throw Failure("the model block names neither a provider nor a base_url")
        }
        if baseURL.hasSuffix("/") { baseURL.removeLast() }
        guard let url = URL(string: baseURL), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw Failure("base_url '\(baseURL)' is not an http(s) URL")
        }
        let model = text("default") ?? text("model")
        if model == nil { notes.append("the model block names no model (`default:`): the client's model name is sent upstream") }
        var context: Int?
        if let c = text("context_length") {
            guard let v = Int(c.replacingOccurrences(of: "_", with: "")), v > 0 else {
                throw Failure("context_length '\(c)' is not a whole number")
            }
            context = v
        }

        // The key: never copied, only the variable that holds it.
        let env = parseDotenv(dotenv ?? "")
        let isLoopback = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(url.host ?? "")
        let keySource: KeySource
        let rawKey = block["api_key"].map { "\($0)".trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        if let rawKey, let variable = referencedVariable(rawKey) {
            keySource = .reference(variable)
        } else if let rawKey {
            if let match = env.first(where: { $0.value == rawKey }) {
                keySource = .matchedInDotenv(match.name)
            } else {
                let suggested = known?.keyVariable ?? variableName(for: name)
                keySource = .literalNotFound(suggested)
                notes.append("config.yaml holds the key itself and no variable in .env has that value: set \(suggested) to it "
                             + "(for the service: in keys.env). It was not copied.")
            }
        } else if let v = known?.keyVariable {
            let isSet = env.contains { $0.name == v } || !(environment[v] ?? "").isEmpty
            keySource = .providerDefault(v, isSet: isSet)
            if !isSet { notes.append("no api_key in config.yaml; the profile reads \(v), which is not set") }
        } else if isLoopback {
            keySource = .none
        } else {
            keySource = .none
            notes.append("no api_key in config.yaml: requests go out without Authorization")
        }
        let apiKeyEnv: String?
        switch keySource {
        case .reference(let v), .matchedInDotenv(let v), .literalNotFound(let v), .providerDefault(let v, _): apiKeyEnv = v
        case .none: apiKeyEnv = nil
        }
        // The daemon reads keys from its own environment, not from Hermes' .env.
        if let apiKeyEnv, env.contains(where: { $0.name == apiKeyEnv }), (environment[apiKeyEnv] ?? "").isEmpty {
            notes.append("\(apiKeyEnv) is in \(source)/.env but not in this environment: export it (or put it in keys.env for the service)")
        }

        var lines = [
            "# Imported from the Hermes agent profile \(source) by `hermes-runtime import-hermes-profile`.",
            "# The key is not stored here: api_key_env names the variable that holds it.",
            "kind: openai",
            "description: \(yamlScalar("imported Hermes profile (\(provider ?? "custom"))"))",
            "base_url: \(yamlScalar(baseURL))",
        ]
        if let apiKeyEnv { lines.append("api_key_env: \(apiKeyEnv)") }
        if let model { lines.append("model: \(yamlScalar(model))") }
        if let context { lines.append("context: \(context)") }
        return Result(name: name, yaml: lines.joined(separator: "\n") + "\n", baseURL: baseURL, model: model, context: context,
                      apiKeyEnv: apiKeyEnv, keySource: keySource, notes: notes)
    }

    /// `my-profile` -> `MY_PROFILE_API_KEY`.
    static func variableName(for profile: String) -> String {
        let upper = profile.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
        var name = String(upper)
        if let first = name.first, first.isNumber { name = "_" + name }
        return name + "_API_KEY"
    }
}
