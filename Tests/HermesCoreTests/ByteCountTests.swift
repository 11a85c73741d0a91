import Testing

@testable import HermesCore

/// The one byte formatter (status, doctor, init, gpu, fit verdicts and the status page all use it).
@Suite struct ByteCountTests {
    static let MiB: UInt64 = 1 << 20
    static let GiB: UInt64 = 1 << 30

    static let cases: [(UInt64, String)] = [
        (0, "0 B"), (12, "12 B"), (1023, "1023 B"), (1536, "2 KiB"), (2048, "2 KiB"),
        (457 << 20, "457 MiB"), (512 << 20, "512 MiB"), (1 << 30, "1.0 GiB"), (3 << 29, "1.5 GiB"),
        ((39 << 30) + (1 << 30) / 5, "39.2 GiB"), (96 << 30, "96.0 GiB"), (1 << 40, "1.0 TiB"),
    ]

    @Test("binary units, one decimal from GiB up", arguments: ByteCountTests.cases)
    func formats(_ value: UInt64, _ text: String) {
        #expect(ByteCount.format(value) == text)
    }

    @Test func aValueThatRoundsUpMovesToTheNextUnit() {
        #expect(ByteCount.format(Self.GiB - Self.MiB / 4) == "1.0 GiB")
        #expect(ByteCount.format(1023 * 1024 + 1000) == "1 MiB")
        #expect(ByteCount.format((UInt64(1) << 40) - Self.MiB) == "1.0 TiB")
        #expect(ByteCount.format(UInt64(13.4 * Double(Self.GiB))) == "13.4 GiB")
    }

    @Test func extremesNeverTrap() {
        #expect(ByteCount.format(UInt64.max) == "16777216.0 TiB")
        #expect(ByteCount.format(-5) == "0 B")
        #expect(ByteCount.format(Int.max).hasSuffix("TiB"))
    }
}
