import Foundation

/// A whole config root written as one text: `runtime.yaml` first, then each profile after a line
/// `#--- NAME`. The fuzz target's input format, and the shape of its regression inputs, which the
/// unit tests load again (`Fuzz/config/corpus/`).
///
/// Without any `#---` line the text stands for both `runtime.yaml` and a profile named `p0`, so a
/// one-file input exercises both parsers.
public struct ConfigBundle: Sendable, Equatable {
    public var runtime: String?
    public var profiles: [(name: String, text: String)]

    public init(text: String) {
        var parts: [(name: String?, lines: [Substring])] = [(nil, [])]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#--- ") {
                parts.append((String(line.dropFirst(5)), []))
            } else {
                parts[parts.count - 1].lines.append(line)
            }
        }
        let joined = parts.map { $0.lines.joined(separator: "\n") }
        if parts.count == 1 {
            runtime = joined[0]
            profiles = [("p0", joined[0])]
            return
        }
        runtime = joined[0].allSatisfy(\.isWhitespace) ? nil : joined[0]
        var seen = Set<String>()
        profiles = []
        for (i, part) in parts.enumerated().dropFirst() {
            // A name the loader would refuse, or a repeat, becomes `pN` (the loader checks names from files).
            let given = part.name ?? ""
            let valid = given.range(of: #"^[A-Za-z0-9][A-Za-z0-9._-]*$"#, options: .regularExpression) != nil
            let name = valid && !seen.contains(given) ? given : "p\(i)"
            seen.insert(name)
            profiles.append((name, joined[i]))
        }
    }

    public static func == (a: ConfigBundle, b: ConfigBundle) -> Bool {
        a.runtime == b.runtime && a.profiles.map(\.name) == b.profiles.map(\.name) && a.profiles.map(\.text) == b.profiles.map(\.text)
    }

    /// Validates the bundle as the config root `root` (files are named under it; nothing is read).
    public func validate(root: URL = URL(fileURLWithPath: "/nonexistent/hermes-config"), environment: [String: String])
        -> (config: HermesConfig, diagnostics: [ConfigDiagnostic])
    {
        let paths = RuntimePaths(configRoot: root, stateDirectory: root.appendingPathComponent("state"))
        return ConfigLoader.validate(
            runtimeText: runtime,
            profiles: profiles.map { ($0.name, paths.profileFile($0.name).path, $0.text) },
            paths: paths, environment: environment)
    }
}
