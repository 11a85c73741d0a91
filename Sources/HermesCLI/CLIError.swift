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
