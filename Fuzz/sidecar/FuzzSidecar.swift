import CFuzzDriver
import Foundation
import HermesCore

/// libFuzzer entry for the warm-cache readers of `kv/PROFILE/*.json`, read back from disk: the sidecar
/// records and the slot map (`slots.json`), both given every input:
/// - decoding never traps, whatever the bytes;
/// - what either accepts holds only values in range, and encodes and decodes to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSidecar(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    if let m = try? SlotMap.decode(bytes) {
        guard m.pid > 0, (1...SlotMap.maxSlots).contains(m.slots.count), m.memory.count == m.slots.count,
              zip(m.memory, m.slots).allSatisfy({ $0.keys.count == $1.keys.count }), m.savedKeys.values.allSatisfy({ $0 > 0 })
        else { fatalError("an accepted slot map holds a value out of range") }
        guard (try? SlotMap.decode(m.encoded())) == m else { fatalError("an accepted slot map does not round-trip") }
        _ = RestoreChoice.decide([1, 2], slots: m.memory, saved: [])
    }
    guard let r = try? SavedConversation.decode(bytes) else { return 0 }
    guard (0...ConfigLimits.tokens).contains(r.tokens), r.bytes >= 0, r.savedAt.isFinite, r.keyValues.count == r.keys.count,
          SavedConversation.isPlainName(r.file)
    else { fatalError("an accepted sidecar holds a value out of range") }
    guard (try? SavedConversation.decode(r.encoded())) == r else { fatalError("an accepted sidecar does not round-trip") }
    _ = RestoreChoice.decide(r.keyValues, slots: [SlotMemory(id: 0), SlotMemory(id: 1, keys: r.keyValues)], saved: [r.prefix])
    return 0
}

/// The executable's entry (libFuzzer's driver, through CFuzzDriver: see Fuzz/README.md).
@_cdecl("fuzz_sidecar_main")
public func fuzzSidecarMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    hermes_fuzz_run(argc, argv, fuzzSidecar)
}
