/// Why a GGUF file could not be read, for a person: each case says what was being read and where, so a
/// truncated download, an HTML page saved as `.gguf` and a corrupt header are told apart.
public enum GGUFError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file cannot be opened or read (missing, a directory, permission denied, I/O error).
    case cannotOpen(path: String, reason: String)
    /// The first bytes are not `GGUF`; `firstBytes` holds up to the first 8 bytes of the file.
    case notGGUF(path: String, firstBytes: [UInt8])
    case unsupportedVersion(path: String, version: UInt32)
    /// The file ends before the thing being read: a partial download or copy.
    case truncated(path: String, offset: UInt64, reading: String, fileSize: UInt64)
    /// A length or count that no file of this size can hold (or above a sanity limit): corrupt data, or
    /// a file cut off long before its end. Refused before anything of that size is allocated.
    case absurdLength(path: String, offset: UInt64, what: String, length: UInt64, limit: UInt64)
    /// A value of the wrong kind: an unknown type tag, a bad alignment, too many tensor dimensions, ...
    case invalidValue(path: String, offset: UInt64, what: String, detail: String)
    /// A key the model summary needs is absent or has the wrong type.
    case missingMetadata(path: String, key: String, detail: String)

    public var path: String {
        switch self {
        case .cannotOpen(let p, _), .notGGUF(let p, _), .unsupportedVersion(let p, _), .truncated(let p, _, _, _),
             .absurdLength(let p, _, _, _, _), .invalidValue(let p, _, _, _), .missingMetadata(let p, _, _):
            return p
        }
    }

    /// The message without the path.
    public var message: String {
        switch self {
        case .cannotOpen(_, let reason):
            return "cannot read the model file: \(reason)"
        case .notGGUF(_, let bytes):
            return "not a GGUF file: starts with \(Self.describe(bytes)), not 47 47 55 46 (\"GGUF\")"
        case .unsupportedVersion(_, let version):
            // A big-endian GGUF shows its version byte-swapped: 3 reads as 0x03000000.
            if version != 0, version & 0xFFFF == 0 {
                return "unsupported GGUF version \(version) (0x\(String(version, radix: 16))): a big-endian file? only little-endian versions 1-3 are read"
            }
            return "unsupported GGUF version \(version): only versions 1-3 are read"
        case .truncated(_, let offset, let reading, let size):
            return "truncated file: it ends at byte \(size) while reading \(reading) at offset \(offset) (an incomplete download or copy?)"
        case .absurdLength(_, let offset, let what, let length, let limit):
            return "corrupt or incomplete file: \(what) at offset \(offset) is \(length), above the limit of \(limit)"
        case .invalidValue(_, let offset, let what, let detail):
            return "corrupt file: \(what) at offset \(offset): \(detail)"
        case .missingMetadata(_, let key, let detail):
            return "metadata key \(key) \(detail)"
        }
    }

    public var description: String { "\(path): \(message)" }

    /// `3c 21 44 4f 43 54 ("<!DOCT")`: hex, and the printable characters when they say something.
    static func describe(_ bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "nothing (the file is empty)" }
        let hex = bytes.map { b in
            let h = String(b, radix: 16)
            return h.count == 1 ? "0" + h : h
        }.joined(separator: " ")
        let printable = bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
        return printable ? "\(hex) (\"\(String(decoding: bytes, as: UTF8.self))\")" : hex
    }
}

/// The user-facing shape: `message` says what is wrong with the file, `cause` which file it is.
extension GGUFError: UserFacingError {
    public var code: String {
        switch self {
        case .cannotOpen: "cannot_open"
        case .notGGUF: "not_gguf"
        case .unsupportedVersion: "unsupported_version"
        case .truncated: "truncated"
        case .absurdLength: "absurd_length"
        case .invalidValue: "invalid_value"
        case .missingMetadata: "missing_metadata"
        }
    }
    public var cause: String? { "in \(path)" }
    public var hint: String? {
        switch self {
        case .truncated, .absurdLength, .notGGUF: "download the model again and compare its size (or sha256) with the source's"
        default: nil
        }
    }
}
