import ArgumentParser
import Foundation
import HermesCore

/// An error a command raises for a person, in the one user-facing shape (`UserFacingError`).
struct CLIError: UserFacingError, CustomStringConvertible {
    var code: String
    var message: String
    var hint: String?
    var cause: String?
    init(_ message: String, hint: String? = nil, cause: String? = nil, code: String = "failed") {
        self.code = code
        self.message = message
        self.hint = hint
        self.cause = cause
    }
    var description: String { rendered }
}

extension CLIError: LocalizedError {
    var errorDescription: String? { description }
}
