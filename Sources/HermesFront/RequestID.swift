/// A random (version 4) UUID in lowercase, the front's `X-Request-Id` when the client sent none.
///
/// Foundation's `UUID()` opens, reads and closes `/dev/urandom` on every call on Linux (three system
/// calls, ~4% of the CPU of a small forwarded request in `perf`); the standard library's generator
/// asks `getrandom` (one call per 8 bytes), with no file descriptor.
enum RequestID {
    static func random() -> String {
        var g = SystemRandomNumberGenerator()
        return format(high: g.next(), low: g.next())
    }

    /// The UUID text of 128 random bits, with the version (4) and variant (10xx) bits set as RFC 9562 asks.
    static func format(high: UInt64, low: UInt64) -> String {
        let hi = (high & ~0xF000) | 0x4000  // bits 48-51 of the UUID: version 4
        let lo = (low & ~(0xC << 60)) | (0x8 << 60)  // bits 64-65: variant 10
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (i, word) in [hi, lo].enumerated() {
            for n in 0..<16 {
                let at = i * 16 + n
                if at == 8 || at == 12 || at == 16 || at == 20 { out.append(UInt8(ascii: "-")) }
                out.append(digits[Int((word >> UInt64(60 - 4 * n)) & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
