import Foundation
import Testing

@testable import HermesCore

/// The slot map is read back from disk: outside input, bounded, never trusted.
@Suite struct SlotMapTests {
    let slots = [SlotMemory(id: 0, keys: [1, 2, 0xFFFF_FFFF_FFFF_FFFF], lastUsed: 4), SlotMemory(id: 1)]

    @Test func aMapRoundTripsAndGivesBackTheSlotsIdle() throws {
        let map = SlotMap(pid: 42, startTime: 99, slots: slots.map { var s = $0; s.busy = true; return s }, savedKeys: [0: 2])
        let back = try SlotMap.decode(map.encoded())
        #expect(back == map)
        #expect(back.memory == slots, "busy is not kept: a request in flight then has ended since")
        #expect(back.savedKeys == [0: 2])
    }

    @Test func whatIsNotAUsableMapIsRefusedWithAReason() throws {
        func reason(_ text: String) -> String? {
            do { _ = try SlotMap.decode(Data(text.utf8)); return nil } catch { return error.reason }
        }
        let slot = #"{"id":0,"keys":["0000000000000001"],"lastUsed":1,"savedKeys":0}"#
        func map(pid: String = "42", start: String = "99", slots: String? = nil, version: Int = 1) -> String {
            #"{"version":\#(version),"pid":\#(pid),"startTime":\#(start),"slots":[\#(slots ?? slot)]}"#
        }
        #expect(reason(map()) == nil)
        #expect(reason("{}") == "not a slot map")
        #expect(reason(map(version: 2)) == "version 2, not 1")
        #expect(reason(map(pid: "0")) == "no process named")
        #expect(reason(map(pid: "99999999999")) == "not a slot map", "a pid beyond Int32 does not decode")
        #expect(reason(map(slots: "")) != nil)
        #expect(reason(map(slots: slot + "," + slot)) != nil, "two slots with one id")
        #expect(reason(map(slots: #"{"id":256,"keys":[],"lastUsed":1,"savedKeys":0}"#)) != nil)
        #expect(reason(map(slots: #"{"id":0,"keys":["xyz"],"lastUsed":1,"savedKeys":0}"#))?.contains("16-digit hex") == true)
        #expect(reason(map(slots: #"{"id":0,"keys":[],"lastUsed":-1,"savedKeys":0}"#))?.contains("last use") == true)
        #expect(reason(map(slots: #"{"id":0,"keys":[],"lastUsed":1,"savedKeys":3}"#))?.contains("saved keys") == true)
        #expect(reason(String(repeating: " ", count: SlotMap.maxBytes + 1)) != nil)
    }

    /// Every committed input of the `sidecar` fuzz target (seeds and any saved crash) reads without a
    /// trap through both readers, and what either accepts round-trips; the slot map seed is accepted.
    @Test func theSidecarFuzzCorpusReads() throws {
        let files = try FuzzCorpusTests.corpus("sidecar")
        var maps = 0
        for f in files {
            let data = try Data(contentsOf: f)
            if let m = try? SlotMap.decode(data) {
                maps += 1
                #expect(try SlotMap.decode(m.encoded()) == m)
            }
            if let r = try? SavedConversation.decode(data) { #expect(try SavedConversation.decode(r.encoded()) == r) }
        }
        #expect(maps >= 1, "the slot map seed")
    }
}
