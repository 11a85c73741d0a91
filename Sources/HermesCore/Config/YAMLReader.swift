import Foundation
import Yams

/// Reads typed values out of a Yams node tree while collecting located diagnostics.
///
/// Yams' Codable decoding stops at the first problem and loses line numbers; config errors must name
/// file, line, column and key, and all of them at once, so we walk the composed nodes ourselves.
final class YAMLReader {
    /// A 1-based line and column (Yams' `Mark` cannot be made outside Yams).
    struct Position: Equatable {
        var line: Int
        var column: Int
        init(line: Int, column: Int) { self.line = line; self.column = column }
        init(_ mark: Mark) { self.init(line: mark.line, column: mark.column) }
    }

    let file: String
    let environment: [String: String]
    private(set) var diagnostics: [ConfigDiagnostic] = []
    /// Where each key path read so far was written (the key's own line and column; `[i]` for list
    /// items), so checks across files can point at the exact line that names something.
    private(set) var positions: [String: Position] = [:]
    /// The text being read, for locating reader errors that come with a byte offset only.
    private var text = ""

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    /// Composes `text`; a syntax error becomes a located diagnostic and nil.
    func compose(_ text: String) -> Node? {
        self.text = text
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                .composer(_, let problem, let mark, _):
                add(.error, mark: mark, path: nil, "YAML syntax: \(problem)")
            case .reader(let problem, let offset, _, _):
                // Control characters, invalid encoding: libyaml gives a byte offset, not a line.
                add(.error, at: offset.map(position(atByte:)), path: nil, "YAML: \(problem)")
            default:
                add(.error, mark: nil, path: nil, "YAML: \(error)")
            }
            return nil
        } catch {
            add(.error, mark: nil, path: nil, "YAML: \(error)")
            return nil
        }
    }

    /// Records a problem. Without a mark (a problem with the whole file) it points at line 1, column 1,
    /// so every diagnostic has the `file:line:column` editors jump to.
    func add(_ severity: ConfigDiagnostic.Severity, mark: Mark?, path: String?, _ message: String) {
        add(severity, at: mark.map(Position.init), path: path, message)
    }

    func add(_ severity: ConfigDiagnostic.Severity, at position: Position?, path: String?, _ message: String) {
        diagnostics.append(
            ConfigDiagnostic(
                severity, file: file, line: position?.line ?? 1, column: position?.column ?? 1, keyPath: path, message: message))
    }

    /// The position of `keyPath` if it was read, else of its nearest recorded parent, else nil.
    func position(of keyPath: String) -> Position? {
        var path = Substring(keyPath)
        while true {
            if let mark = positions[String(path)] { return mark }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            path = path[..<cut]
        }
    }

    /// Line and column (1-based, column in characters) of a UTF-8 byte offset into the composed text.
    func position(atByte offset: Int) -> Position {
        let bytes = Array(text.utf8.prefix(max(offset, 0)))
        let lineStart = (bytes.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
        let line = bytes.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        let column = String(decoding: bytes[lineStart...], as: UTF8.self).count + 1
        return Position(line: line, column: column)
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
            if positions[keyPath] == nil, let mark = k.mark { positions[keyPath] = Position(mark) }
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
        let digits = text.replacingOccurrences(of: "_", with: "")
        guard let v = Int(digits) else {
            let tooLarge = !digits.isEmpty && digits.drop(while: { $0 == "-" || $0 == "+" }).allSatisfy(\.isASCIIDigitCharacter)
            add(.error, node, path: path, tooLarge ? "'\(Self.shown(text))' is too large" : "expected a whole number, found '\(Self.shown(text))'")
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

    /// Seconds, written as a number (`5`, `0.5`) or with a unit (`500ms`, `5s`, `2m`, `1h`), within
    /// `range` (default `ConfigLimits.durations`): every duration that loads can become a `Duration`
    /// or whole milliseconds later without trapping.
    func duration(_ node: Node, path: String, range: ClosedRange<Double> = ConfigLimits.durations) -> Double? {
        guard let text = string(node, path: path) else { return nil }
        guard let v = parseDuration(text), v.isFinite else {
            add(.error, node, path: path, "expected a duration such as 5, 500ms, 5s or 2m, found '\(Self.shown(text))'")
            return nil
        }
        guard range.contains(v) else {
            add(.error, node, path: path, "'\(Self.shown(text))' is out of range: \(ConfigLimits.describe(seconds: range.lowerBound)) to \(ConfigLimits.describe(seconds: range.upperBound))")
            return nil
        }
        return v
    }

    /// Bytes, written as a number or with a unit (`512MiB`, `16 GiB`, `10MB`), within `range`.
    func bytes(_ node: Node, path: String, range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, path: path) else { return nil }
        let v: Int
        switch ByteSize(parsing: text) {
        case .bytes(let b) where b <= range.upperBound: v = b
        case .bytes, .tooLarge:
            add(.error, node, path: path, "'\(Self.shown(text))' is too large: at most \(ConfigLimits.describe(bytes: range.upperBound))")
            return nil
        case .invalid:
            add(.error, node, path: path, "expected a size such as 1048576, 512MiB or 16GiB, found '\(Self.shown(text))'")
            return nil
        }
        guard range.contains(v) else {
            add(.error, node, path: path, "'\(Self.shown(text))' is too small: at least \(ConfigLimits.describe(bytes: range.lowerBound))")
            return nil
        }
        return v
    }

    /// At most 80 characters of a value, for messages: a pasted blob must not flood the output.
    static func shown(_ text: String) -> String {
        text.count > 80 ? String(text.prefix(80)) + "..." : text
    }

    /// A list of strings; a single scalar counts as a one-element list.
    func stringList(_ node: Node, path: String) -> [String]? {
        if Self.isEmpty(node) { return nil }
        switch node {
        case .scalar: return string(node, path: path).map { [$0] }
        case .sequence(let seq):
            var out: [String] = []
            for (i, item) in seq.enumerated() {
                if let mark = item.mark { positions["\(path)[\(i)]"] = Position(mark) }
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

/// Seconds from `5`, `0.5`, `500ms`, `5s`, `2m`, `1h`. May be infinite or NaN (`inf`, `nan`): the
/// loader range-checks what this returns.
public func parseDuration(_ text: String) -> Double? {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, factor) in units where t.hasSuffix(suffix) {
        if let v = Double(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)) { return v * factor }
    }
    return Double(t)
}

/// Bytes from `1048576`, `512MiB`, `16 GiB`, `10MB`, `1.5G`; nil for anything else, a negative size
/// or one above `max` (checked before converting, so a huge figure is an answer, not a trap).
public func parseByteSize(_ text: String, max: Int = .max) -> Int? {
    if case .bytes(let v) = ByteSize(parsing: text), v <= max { return v }
    return nil
}

/// What a size setting says: a byte count, a well-formed size past 2^63 - 1, or nothing readable.
enum ByteSize: Equatable {
    case bytes(Int)
    case tooLarge
    case invalid

    init(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: " ", with: "")
        let (number, factor) = byteUnits.first { t.hasSuffix($0.0) }.map { (t.dropLast($0.0.count), $0.1) } ?? (Substring(t), 1)
        guard number.first.map({ $0.isASCIIDigitCharacter || $0 == "." }) == true else { self = .invalid; return }
        // Plain digits multiply exactly; a fraction (`1.5G`) goes through Double.
        if number.allSatisfy(\.isASCIIDigitCharacter) {
            guard let n = Int(number) else { self = .tooLarge; return }
            let (v, overflow) = n.multipliedReportingOverflow(by: factor)
            self = overflow ? .tooLarge : .bytes(v)
            return
        }
        guard let d = Double(number), d >= 0 else { self = .invalid; return }
        let v = d * Double(factor)
        // Double(Int.max) rounds up to 2^63: compare strictly below it before converting.
        self = v.isFinite && v < 9_223_372_036_854_775_807.0 ? .bytes(Int(v)) : .tooLarge
    }
}

private let byteUnits: [(String, Int)] = [
    ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("tib", 1 << 40),
    ("kb", 1_000), ("mb", 1_000_000), ("gb", 1_000_000_000), ("tb", 1_000_000_000_000),
    ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1),
]

extension Character {
    var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}
