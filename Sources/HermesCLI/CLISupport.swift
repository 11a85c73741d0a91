import Foundation
import HermesCore

// The one home of what several subcommands share: config loading, profile lookup with a
// "did you mean", tables, durations and JSON output. Byte counts: `ByteCount.format` (HermesCore).

extension HermesConfig {
    /// The profile called `name` (or an alias of it), or an error naming the closest match.
    func requireProfile(_ name: String, paths: RuntimePaths) throws -> Profile {
        if let p = profile(named: name) { return p }
        throw CLIError("no profile '\(name)' in \(paths.profilesDirectory.path)",
                       hint: closestMatch(to: name, in: profileNames).map { "did you mean '\($0)'?" }
                           ?? "profiles: \(profileNames.joined(separator: ", "))", code: "unknown_profile")
    }
}

/// `42s`, `3m5s`, `2h10m`. Negative or absurd values (a clock that moved) read as 0s.
func formatDuration(_ seconds: Double) -> String {
    let s = seconds.isFinite ? Int(clamping: Int64(max(0, min(seconds, 1e15)))) : 0
    if s < 60 { return "\(s)s" }
    if s < 3600 { return "\(s / 60)m\(s % 60)s" }
    return "\(s / 3600)h\((s % 3600) / 60)m"
}

/// Columns padded to the widest cell; the last column is left unpadded.
func printTable(_ header: [String], _ rows: [[String]]) {
    let all = [header] + rows
    let widths = header.indices.map { i in all.map { i < $0.count ? $0[i].count : 0 }.max() ?? 0 }
    for row in all {
        print(row.indices.map { i in i == row.count - 1 || i >= widths.count ? row[i] : row[i].padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
    }
}

/// Pretty, sorted, snake_case JSON on standard output.
func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Flushes `print` output now (progress lines must show while we wait).
func flushStandardOutput() {
    fflush(nil)
}
