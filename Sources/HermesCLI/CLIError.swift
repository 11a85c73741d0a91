import ArgumentParser
import Foundation

/// An error for a person: what went wrong and, when known, one thing to do about it.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var hint: String?
    init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
    var description: String { hint.map { "\(message)\nhint: \($0)" } ?? message }
}

extension CLIError: LocalizedError {
    var errorDescription: String? { description }
}

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
