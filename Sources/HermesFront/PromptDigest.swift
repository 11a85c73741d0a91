import Crypto

/// The prompt's SHA-256 for events (the prompt itself is never written anywhere).
///
/// swift-crypto (BoringSSL's assembly SHA-256 on Linux) rather than the hand-written one the front had:
/// `hermes-bench front --decisions` measured both; docs/benchmarks.md has the numbers.
public enum PromptDigest {
    /// The lowercase hex SHA-256 of `text`'s UTF-8.
    public static func hex(_ text: String) -> String {
        hex(utf8: Array(text.utf8))
    }

    /// The lowercase hex SHA-256 of `utf8` (the decoder's `promptUTF8`: the same bytes as
    /// `promptText.utf8`, so the same digest, without building the `String`).
    public static func hex(utf8: [UInt8]) -> String {
        let digest = utf8.withUnsafeBytes { SHA256.hash(data: $0) }
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
