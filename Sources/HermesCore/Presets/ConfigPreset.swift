import Foundation

/// A starting configuration `hermes-runtime init` writes for one kind of machine.
public enum ConfigPreset: String, Sendable, CaseIterable, Codable {
    /// The article's setup on a Ryzen AI MAX+ 395 (Radeon 8060S, gfx1151): a local model on the GPU
    /// with cloud burst and a cheap cloud tier.
    case strixHalo = "strix-halo"
    /// The small test model on CPU with a larger-context stand-in for the cloud: runs anywhere.
    case cpu
    /// Cloud profiles only, for a machine that serves nothing itself.
    case hosted

    /// The profiles this preset writes, in the order they are reported.
    public var profiles: [String] {
        switch self {
        case .strixHalo: return ["coding-local", "coding-burst", "coding-burst-together", "review-cheap"]
        case .cpu: return ["demo-local", "demo-burst"]
        case .hosted: return ["coding-burst", "coding-burst-together", "review-cheap"]
        }
    }

    /// What `runtime.yaml` holds for this preset.
    public var runtimeLayout: RuntimeLayout {
        let header = [
            "# hermes-runtime: the routing front and its rules, written by `hermes-runtime init --preset \(rawValue)`.",
            "# `hermes-runtime config validate` checks it; `hermes-runtime config backups` lists earlier versions.",
            "# Reference: docs/configuration.md. Routing order: docs/routing.md.",
        ]
        switch self {
        case .strixHalo:
            return RuntimeLayout(header: header, defaultProfile: "coding-local",
                                 aliases: [("local", "coding-local"), ("cloud", "coding-burst")], cheapProfile: "review-cheap")
        case .cpu:
            return RuntimeLayout(header: header, defaultProfile: "demo-local", aliases: [("local", "demo-local")], cheapProfile: nil)
        case .hosted:
            return RuntimeLayout(header: header, defaultProfile: "coding-burst", aliases: [("cloud", "coding-burst")],
                                 cheapProfile: "review-cheap")
        }
    }

    /// One line for a person.
    public var summary: String {
        switch self {
        case .strixHalo: return "a local model on the gfx1151 GPU (coding-local) with cloud burst (coding-burst, coding-burst-together) and a cheap cloud tier (review-cheap)"
        case .cpu: return "the small test model on CPU (demo-local) with a larger-context local stand-in for the cloud (demo-burst)"
        case .hosted: return "cloud profiles only (coding-burst, coding-burst-together, review-cheap)"
        }
    }
}

/// The parts of `runtime.yaml` that differ between presets; the rest of the text is shared.
public struct RuntimeLayout: Sendable {
    /// Comment lines at the top.
    public var header: [String]
    public var defaultProfile: String
    /// Alias -> profile, in the order written.
    public var aliases: [(String, String)]
    /// Where the `cron-is-cheap` route sends cron jobs; nil leaves the route out.
    public var cheapProfile: String?

    public init(header: [String], defaultProfile: String, aliases: [(String, String)], cheapProfile: String?) {
        self.header = header
        self.defaultProfile = defaultProfile
        self.aliases = aliases
        self.cheapProfile = cheapProfile
    }

    /// The repository's own `runtime.yaml` (the repository is a config root holding every profile).
    public static let repository = RuntimeLayout(
        header: [
            "# hermes-runtime: the routing front and its rules. The repository itself is a config root:",
            "#   HERMES_RUNTIME_HOME=$PWD hermes-runtime config validate",
            "# Reference: docs/configuration.md. Routing order: docs/routing.md.",
        ],
        defaultProfile: "demo-local", aliases: [("local", "demo-local"), ("cloud", "coding-burst")], cheapProfile: "review-cheap")

    /// The file's text.
    public var text: String {
        var lines = header
        lines += [
            "front:",
            "  listen: 127.0.0.1:8082",
            #"  # api_key_env: HERMES_FRONT_KEY   # clients then send "Authorization: Bearer <key>"; required off loopback"#,
            "  default: \(defaultProfile)",
        ]
        if !aliases.isEmpty {
            lines.append("  aliases:")
            lines += aliases.map { "    \($0.0): \($0.1)" }
        }
        lines += [
            "  routes:",
            "    # First match wins. Conditions read headers (X-Hermes-Platform, X-Hermes-Source, X-Hermes-Toolsets,",
            "    # X-Hermes-Goal) or the body's metadata.",
        ]
        if let cheapProfile {
            lines += [
                "    - name: cron-is-cheap",
                "      match: { source_kind: cron }",
                "      profile: \(cheapProfile)",
            ]
        }
        lines += [
            "    - name: security-needs-a-person",
            #"      match: { goal_matches: ["security review", "production credentials"] }"#,
            "      action: confirm",
            "      reason: security work is done with a person in the loop",
            "logs:",
            "  max_bytes: 10MiB",
            "  keep: 3",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}

/// What `init` may put in place of the templates' defaults, from what it detected.
public struct PresetOptions: Sendable, Equatable {
    /// The GGUF file for strix-halo's `coding-local` (the template's `~/.models/...` when nil).
    public var localModel: String?
    /// The llama-server binary for strix-halo's `coding-local` (the template's `/opt/llama.cpp-rocm/...` when nil).
    public var localBinary: String?

    public init(localModel: String? = nil, localBinary: String? = nil) {
        self.localModel = localModel
        self.localBinary = localBinary
    }
}

/// The files one preset writes: `runtime.yaml` and `runtimes/NAME.yaml`.
public struct RenderedConfig: Sendable, Equatable {
    public var preset: ConfigPreset
    public var runtime: String
    /// Profile name -> text, in ``ConfigPreset/profiles`` order.
    public var profiles: [(name: String, text: String)]

    public static func == (a: RenderedConfig, b: RenderedConfig) -> Bool {
        a.preset == b.preset && a.runtime == b.runtime && a.profiles.map(\.name) == b.profiles.map(\.name)
            && a.profiles.map(\.text) == b.profiles.map(\.text)
    }

    /// The files as a snapshot, ready to write over a root.
    public var snapshot: ConfigSnapshot {
        var s = ConfigSnapshot(runtime: Data(runtime.utf8))
        for p in profiles { s.profiles["\(p.name).yaml"] = Data(p.text.utf8) }
        return s
    }
}

extension ConfigPreset {
    /// The preset's files; with default options, byte for byte the repository's profiles.
    public func render(_ options: PresetOptions = PresetOptions()) -> RenderedConfig {
        let profiles = self.profiles.map { name -> (name: String, text: String) in
            var text = ProfileTemplates.all[name]!
            if name == "coding-local" {
                if let model = options.localModel {
                    text = replacingValue(of: "model", in: text, with: model)
                    text = text.replacingOccurrences(
                        of: "# The article's local tier: gemma-4-26B Q4_0 on the Radeon 8060S (gfx1151), all layers on the GPU.",
                        with: "# The article's local tier on the Radeon 8060S (gfx1151), all layers on the GPU; init chose the model.")
                }
                if let binary = options.localBinary { text = replacingValue(of: "binary", in: text, with: binary) }
            }
            return (name, text)
        }
        return RenderedConfig(preset: self, runtime: runtimeLayout.text, profiles: profiles)
    }
}

/// Replaces the value of a top-level `key:` line, keeping the rest of the text as it is.
func replacingValue(of key: String, in text: String, with value: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        line.hasPrefix("\(key): ") ? "\(key): \(yamlScalar(value))" : String(line)
    }.joined(separator: "\n")
}

/// A string as a YAML scalar: plain when that reads back as the same string, else double-quoted.
public func yamlScalar(_ s: String) -> String {
    let plain = s.range(of: #"^[A-Za-z0-9_/~.][A-Za-z0-9_/~.+@:=-]*$"#, options: .regularExpression) != nil
        && !s.hasSuffix(":")
        && !["true", "false", "yes", "no", "on", "off", "null", "~"].contains(s.lowercased())
        && Double(s) == nil
    if plain { return s }
    let escaped = s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    return "\"\(escaped)\""
}
