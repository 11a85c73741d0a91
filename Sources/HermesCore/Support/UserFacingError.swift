/// An error a person reads, in one shape everywhere: a stable `code` (for scripts, the control API and
/// tests to match on, never the wording), a `message` saying what went wrong, a `hint` saying one thing
/// to do about it, and a `cause` saying what lay beneath (an errno's text, a server's last log lines).
///
/// `GPUProbeError` set the shape; every error that reaches a person conforms: the CLI prints
/// `rendered`, the control API sends `Problem` (see `ControlError`), and a new error type only says what
/// its four parts are. Errors a person never sees (a scanner's syntax error becoming a 400) need not.
public protocol UserFacingError: Error, Sendable {
    associatedtype Code: ErrorCode
    /// Stable across releases; its `name` is snake_case: `unknown_profile`, `no_device`, `truncated`.
    var code: Code { get }
    /// What went wrong, for a person. One sentence; the details go in `cause`.
    var message: String { get }
    /// One thing to do about it, when known.
    var hint: String? { get }
    /// What lay beneath, when known: a library's or server's own words. May span lines.
    var cause: String? { get }
}

extension UserFacingError {
    public var hint: String? { nil }
    public var cause: String? { nil }

    /// The shape a person reads: the message, then `cause:` (its further lines indented), then `hint:`.
    public var rendered: String { Problem.render(message: message, cause: cause, hint: hint) }

    /// The four parts as a value (for the wire, logs, comparison).
    public var problem: Problem { Problem(code: code.name, message: message, hint: hint, cause: cause) }
}

/// An error's code: a string, or an enum of them (a case `noDevice` is named `no_device`).
public protocol ErrorCode: Sendable {
    var name: String { get }
}

extension String: ErrorCode {
    public var name: String { self }
}

extension ErrorCode where Self: RawRepresentable, RawValue == String {
    public var name: String { rawValue.snakeCased }
}

/// A user-facing error as a plain value: what the control API sends and the CLI receives.
public struct Problem: UserFacingError, Codable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var hint: String?
    public var cause: String?

    public init(code: String, message: String, hint: String? = nil, cause: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.cause = cause
    }

    /// Any error as a problem: a user-facing one keeps its parts; another is `internal` with its text
    /// as the message (a bug to report: every error a person may meet should say more than that).
    public init(_ error: any Error) {
        if let e = error as? any UserFacingError {
            self.init(code: e.code.name, message: e.message, hint: e.hint, cause: e.cause)
        } else {
            self.init(code: "internal", message: String(describing: error))
        }
    }

    public var description: String { rendered }

    static func render(message: String, cause: String?, hint: String?) -> String {
        var s = message
        if let cause, !cause.isEmpty {
            s += "\ncause: " + cause.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n  ")
        }
        if let hint, !hint.isEmpty { s += "\nhint: \(hint)" }
        return s
    }

    /// `lines` as a cause: "last log lines:" and each line below it.
    public static func logCause(_ lines: [String]?) -> String? {
        guard let lines, !lines.isEmpty else { return nil }
        return (["last log lines:"] + lines).joined(separator: "\n")
    }
}

extension String {
    /// `noDevice` -> `no_device`: a Swift case name as a stable error code.
    public var snakeCased: String {
        var out = ""
        for c in self {
            if c.isUppercase {
                if !out.isEmpty { out.append("_") }
                out += c.lowercased()
            } else {
                out.append(c)
            }
        }
        return out
    }
}
