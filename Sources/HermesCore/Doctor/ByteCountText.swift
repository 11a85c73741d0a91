import Foundation

/// `241 MB`, `14.2 GB`: decimal units, as file managers and download pages show sizes.
public func formatByteCount(_ bytes: UInt64) -> String {
    let b = Double(bytes)
    if b >= 1e9 { return String(format: "%.1f GB", b / 1e9) }
    if b >= 1e6 { return String(format: "%.0f MB", b / 1e6) }
    if b >= 1e3 { return String(format: "%.0f KB", b / 1e3) }
    return "\(bytes) bytes"
}
