import HermesCore

/// A probe that could not answer, with a message for a person and, when known, one thing to do.
public struct GPUProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure, for code that reacts to it.
    public enum Code: String, Sendable, Codable {
        /// There is no AMD GPU to ask (rocm_smi found no `/sys/class/drm`).
        case noDevice
        /// `rsmi_init` failed (no KFD, a stale lock, missing permissions, ...).
        case libraryInit
        /// A rocm_smi call other than init failed.
        case libraryCall
        /// A rocm_smi call did not return within the time allowed.
        case timedOut
        /// An earlier rocm_smi call is still stuck, so no new one is started.
        case busy
        /// The session was closed.
        case closed
        /// No source could be asked (a forced source with nothing behind it).
        case unavailable
    }

    /// What kind of failure.
    public var code: Code
    /// What went wrong, for a person.
    public var message: String
    /// One thing to do about it, when known.
    public var hint: String?
    /// What librocm_smi printed to stderr meanwhile: kept out of a person's way, shown with `--verbose`.
    public var libraryOutput: String?

    /// An error with its code, message and, optionally, a hint and what the library printed.
    public init(_ code: Code, _ message: String, hint: String? = nil, libraryOutput: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.libraryOutput = libraryOutput
    }

    /// The message, followed by the hint when there is one.
    public var description: String { hint.map { "\(message) (hint: \($0))" } ?? message }
}

/// The user-facing shape; `libraryOutput` stays out of it (shown with `--verbose` only).
extension GPUProbeError: UserFacingError {}
extension GPUProbeError.Code: ErrorCode {}
