import Foundation
import Yams

/// Reads typed values out of a Yams node tree while collecting located diagnostics.
///
/// Yams' Codable decoding stops at the first problem and loses line numbers; config errors must name
/// file, line, column and key, and all of them at once, so we walk the composed nodes ourselves.
final class YAMLReader {
    let file: String
    let environment: [String: String]
    private(set) var diagnostics: [ConfigDiagnostic] = []

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    /// Composes `text`; a syntax error becomes a located diagnostic and nil.
    func compose(_ text: String) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                .composer(_, let problem, let mark, _):
                add(.error, mark: mark, path: nil, "YAML syntax: \(problem)")
            default:
                add(.error, mark: nil, path: nil, "YAML: \(error)")
            }
            return nil
        } catch {
            add(.error, mark: nil, path: nil, "YAML: \(error)")
            return nil
        }
    }

    func add(_ severity: ConfigDiagnostic.Severity, mark: Mark?, path: String?, _ message: String) {
        diagnostics.append(
            ConfigDiagnostic(
                severity, file: file, line: mark?.line, column: mark?.column, keyPath: path, message: message))
    }

    func add(_ severity: ConfigDiagnostic.Severity, _ node: Node?, path: String?, _ message: String) {
        add(severity, mark: node?.mark, path: path, message)
    }

    /// A YAML null, an empty string or an empty list: "no opinion", so the field inherits.
    static func isEmpty(_ node: Node) -> Bool {
        switch node {
        case .scalar(let s):
            return s.string.isEmpty || (s.style == .plain && ["~", "null", "Null", "NULL"].contains(s.string))
        case .sequence(let s): return s.isEmpty
        case .mapping(let m): return m.isEmpty
        case .alias: return false
        }
    }

    /// A mapping's entries by key; reports a non-mapping, duplicate keys and keys not in `allowed`.
    func mapping(_ node: Node, path: String, allowed: [String]?) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case .mapping(let m) = node else {
            add(.error, node, path: path, "expected a mapping (key: value lines), found \(kindName(node))")
            return nil
        }
        var seen = Set<String>()
        var out: [(String, Node, Node)] = []
        for (k, v) in m {
            guard case .scalar(let ks) = k else {
                add(.error, k, path: path, "keys must be plain strings")
                continue
            }
            let key = ks.string
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            if !seen.insert(key).inserted {
                add(.error, k, path: keyPath, "duplicate key '\(key)'")
                continue
            }
            if let allowed, !allowed.contains(key) {
                var message = "unknown key '\(key)'"
                if let near = closestMatch(to: key, in: allowed) { message += " (did you mean '\(near)'?)" }
                add(.error, k, path: keyPath, message)
                continue
            }
            out.append((key, k, v))
        }
        return out
    }

    /// A scalar as text with `${VAR}` / `${VAR:-default}` expanded; nil when empty.
    func string(_ node: Node, path: String, expand: Bool = true) -> String? {
        if Self.isEmpty(node) { return nil }
        guard case .scalar(let s) = node else {
            add(.error, node, path: path, "expected a text value, found \(kindName(node))")
            return nil
        }
        return expand ? expandEnvironment(s.string, node: node, path: path) : s.string
    }

    func int(_ node: Node, path: String, range: ClosedRange<Int>? = nil) -> Int? {
        guard let text = string(node, path: path) else { return nil }
        guard let v = Int(text.replacingOccurrences(of: "_", with: "")) else {
            add(.error, node, path: path, "expected a whole number, found '\(text)'")
            return nil
        }
        if let range, !range.contains(v) {
            add(.error, node, path: path, "\(v) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return v
    }

    func bool(_ node: Node, path: String) -> Bool? {
        guard let text = string(node, path: path) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            add(.error, node, path: path, "expected true or false, found '\(text)'")
            return nil
        }
    }

    /// Seconds, written as a number (`5`, `0.5`) or with a unit (`500ms`, `5s`, `2m`, `1h`).
    func duration(_ node: Node, path: String) -> Double? {
        guard let text = string(node, path: path) else { return nil }
        if let v = parseDuration(text), v >= 0 { return v }
        add(.error, node, path: path, "expected a duration such as 5, 500ms, 5s or 2m, found '\(text)'")
        return nil
    }

    /// Bytes, written as a number or with a unit (`512MiB`, `16 GiB`, `10MB`).
    func bytes(_ node: Node, path: String) -> Int? {
        guard let text = string(node, path: path) else { return nil }
        if let v = parseByteSize(text) { return v }
        add(.error, node, path: path, "expected a size such as 1048576, 512MiB or 16GiB, found '\(text)'")
        return nil
    }

    /// A list of strings; a single scalar counts as a one-element list.
    func stringList(_ node: Node, path: String) -> [String]? {
        if Self.isEmpty(node) { return nil }
        switch node {
        case .scalar: return string(node, path: path).map { [$0] }
        case .sequence(let seq):
            var out: [String] = []
            for (i, item) in seq.enumerated() {
                if let s = string(item, path: "\(path)[\(i)]") { out.append(s) }
            }
            return out
        default:
            add(.error, node, path: path, "expected a list of text values, found \(kindName(node))")
            return nil
        }
    }

    func stringMap(_ node: Node, path: String) -> [String: String]? {
        if Self.isEmpty(node) { return nil }
        guard let entries = mapping(node, path: path, allowed: nil) else { return nil }
        var out: [String: String] = [:]
        for e in entries {
            // An env value may legitimately be empty (e.g. to clear a variable).
            if case .scalar(let s) = e.value, s.string.isEmpty { out[e.key] = ""; continue }
            if let s = string(e.value, path: "\(path).\(e.key)") { out[e.key] = s }
        }
        return out
    }

    func kindName(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// `${NAME}` is the variable's value; `${NAME:-fallback}` uses the fallback when unset or empty;
    /// `~/` at the start is the home directory. An unset variable with no fallback is an error.
    func expandEnvironment(_ text: String, node: Node, path: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                add(.error, node, path: path, "unclosed '${' in '\(text)'")
                return text
            }
            let inner = rest[start.upperBound..<end]
            let name: Substring
            let fallback: Substring?
            if let sep = inner.range(of: ":-") {
                name = inner[..<sep.lowerBound]
                fallback = inner[sep.upperBound...]
            } else {
                name = inner
                fallback = nil
            }
            if let v = environment[String(name)], !v.isEmpty {
                result += v
            } else if let fallback {
                result += fallback
            } else {
                add(.error, node, path: path, "environment variable \(name) is not set (write ${\(name):-default} for a default)")
            }
            rest = rest[rest.index(after: end)...]
        }
        result += rest
        if result == "~" || result.hasPrefix("~/") {
            result = expandTilde(result, home: environment["HOME"] ?? NSHomeDirectory())
        }
        return result
    }
}

/// Seconds from `5`, `0.5`, `500ms`, `5s`, `2m`, `1h`.
public func parseDuration(_ text: String) -> Double? {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, factor) in units where t.hasSuffix(suffix) {
        if let v = Double(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)) { return v * factor }
    }
    return Double(t)
}

/// Bytes from `1048576`, `512MiB`, `16 GiB`, `10MB`, `1.5G`.
public func parseByteSize(_ text: String) -> Int? {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: " ", with: "")
    let units: [(String, Double)] = [
        ("kib", 1024), ("mib", 1_048_576), ("gib", 1_073_741_824), ("tib", 1_099_511_627_776),
        ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12),
        ("k", 1024), ("m", 1_048_576), ("g", 1_073_741_824), ("b", 1),
    ]
    for (suffix, factor) in units where t.hasSuffix(suffix) {
        if let v = Double(t.dropLast(suffix.count)), v >= 0 { return Int(v * factor) }
    }
    if let v = Int(t), v >= 0 { return v }
    return nil
}
