import Foundation

/// One problem found in a config file, located so a person can go straight to it.
public struct ConfigDiagnostic: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable { case error, warning }

    public var severity: Severity
    /// The file, as given (absolute or relative to where the command ran).
    public var file: String
    public var line: Int?
    public var column: Int?
    /// Dotted key path inside the file, e.g. `health.interval` or `front.routes[2].match.platform`.
    public var keyPath: String?
    public var message: String

    public init(
        _ severity: Severity, file: String, line: Int? = nil, column: Int? = nil, keyPath: String? = nil,
        message: String
    ) {
        self.severity = severity
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    /// `file:line:column: error: message (key: path)`, the shape editors and compilers use.
    public var description: String {
        var where_ = file
        if let line { where_ += ":\(line)" }
        if let column { where_ += ":\(column)" }
        var text = "\(where_): \(severity.rawValue): \(message)"
        if let keyPath, !keyPath.isEmpty { text += " [key: \(keyPath)]" }
        return text
    }
}

/// Thrown when a config cannot be used; carries every problem found, not only the first.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]
    public init(_ diagnostics: [ConfigDiagnostic]) { self.diagnostics = diagnostics }
    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}

extension ConfigError: UserFacingError {
    public var code: String { "invalid_config" }
    public var message: String {
        let n = diagnostics.filter { $0.severity == .error }.count
        return n == 1 ? "the config has a problem" : "the config has \(n) problems"
    }
    /// Each problem as `file:line:column: error: ...`.
    public var cause: String? { description }
    public var hint: String? { "`hermes-runtime config validate` lists every problem" }
}

/// The closest candidate within a small edit distance, for "did you mean" hints.
public func closestMatch(to word: String, in candidates: [String]) -> String? {
    let lower = word.lowercased()
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(lower, c.lowercased())
        if d <= max(2, c.count / 3), best == nil || d < best!.1 { best = (c, d) }
    }
    return best?.0
}

/// Levenshtein distance; inputs are short config keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}
