/// Byte counts for a person: the one formatter every command, check and page uses.
///
/// Binary units (what the driver, HIP and `free` count in), one decimal from GiB up, whole numbers
/// below. Integer arithmetic throughout: any `UInt64` (a sysfs counter, a GGUF size) formats without
/// trapping, and a value that rounds to 1024 of a unit moves up to the next one (`1023.9 MiB` reads
/// `1.0 GiB`, never `1024 MiB`).
public enum ByteCount {
    static let KiB: UInt64 = 1 << 10
    static let MiB: UInt64 = 1 << 20
    static let GiB: UInt64 = 1 << 30
    static let TiB: UInt64 = 1 << 40

    /// `800 B`, `2 KiB`, `512 MiB`, `13.4 GiB`, `1.5 TiB`.
    public static func format(_ bytes: UInt64) -> String {
        if bytes >= TiB || rounded(bytes, GiB) >= 1024 { return tenths(bytes, TiB) + " TiB" }
        if bytes >= GiB || rounded(bytes, MiB) >= 1024 { return tenths(bytes, GiB) + " GiB" }
        if bytes >= MiB || rounded(bytes, KiB) >= 1024 { return "\(max(1, rounded(bytes, MiB))) MiB" }
        if bytes >= KiB { return "\(rounded(bytes, KiB)) KiB" }
        return "\(bytes) B"
    }

    /// The same for a signed count (negative counts, which no probe should give, read as 0 B).
    public static func format(_ bytes: Int) -> String { format(UInt64(clamping: bytes)) }

    /// `bytes / unit`, rounded to nearest, without overflow.
    static func rounded(_ bytes: UInt64, _ unit: UInt64) -> UInt64 {
        let (q, r) = bytes.quotientAndRemainder(dividingBy: unit)
        return r >= unit / 2 ? q + 1 : q
    }

    /// `bytes / unit` with one decimal, rounded to nearest, without overflow.
    static func tenths(_ bytes: UInt64, _ unit: UInt64) -> String {
        let (q, r) = bytes.quotientAndRemainder(dividingBy: unit)
        // r < unit <= 2^40, so r * 10 cannot overflow.
        var whole = q, tenth = (r * 10 + unit / 2) / unit
        if tenth == 10 { whole += 1; tenth = 0 }
        return "\(whole).\(tenth)"
    }
}
