import Foundation
import Testing

@testable import HermesFront

/// The front's own request ids: RFC 9562 version 4 UUIDs in lowercase, as `UUID()` gave before.
@Suite struct RequestIDTests {
    @Test func formatSetsVersionAndVariantBits() {
        #expect(RequestID.format(high: 0, low: 0) == "00000000-0000-4000-8000-000000000000")
        #expect(RequestID.format(high: ~0, low: ~0) == "ffffffff-ffff-4fff-bfff-ffffffffffff")
        #expect(RequestID.format(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210) == "01234567-89ab-4def-bedc-ba9876543210")
    }

    @Test func randomIdsParseAsVersion4AndDiffer() throws {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let id = RequestID.random()
            let uuid = try #require(UUID(uuidString: id))
            #expect(id == uuid.uuidString.lowercased())
            let bytes = withUnsafeBytes(of: uuid.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4)
            #expect(bytes[8] >> 6 == 0b10)
            seen.insert(id)
        }
        #expect(seen.count == 1000)
    }
}
