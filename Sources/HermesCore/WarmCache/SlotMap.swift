import Foundation

/// What each slot of one running llama-server holds, as the front placed requests there. Kept in
/// `STATE/kv/PROFILE/slots.json` while the server runs, so a daemon that adopts the server (after
/// `daemon restart`, or the guard's restart of a daemon that crashed) goes on sending each conversation
/// to the slot that holds it instead of treating every slot as empty. Read back from disk, so it is
/// outside input: `decode` bounds every field and never traps (fuzz target `sidecar`).
public struct SlotMap: Sendable, Equatable, Codable {
    public static let version = 1
    public static let maxBytes = 8 << 20
    public static let maxSlots = 256

    public struct Slot: Sendable, Equatable, Codable {
        public var id: Int
        /// `PrefixKeys` of the last request sent there, as 16-digit hex.
        public var keys: [String]
        public var lastUsed: Double
        /// How many of those keys were in the slot when it was last saved (0: not saved).
        public var savedKeys: Int
    }

    public var version: Int
    /// The server process described: its pid and start time (a map of another process is ignored).
    public var pid: Int32
    public var startTime: UInt64
    public var slots: [Slot]

    public init(pid: Int32, startTime: UInt64, slots: [SlotMemory], savedKeys: [Int: Int]) {
        version = Self.version
        self.pid = pid
        self.startTime = startTime
        self.slots = slots.map { Slot(id: $0.id, keys: $0.keys.map(SavedConversation.hex), lastUsed: $0.lastUsed, savedKeys: savedKeys[$0.id] ?? 0) }
    }

    /// The slots as the chooser sees them (none busy: a request in flight then has ended since).
    public var memory: [SlotMemory] {
        slots.map { SlotMemory(id: $0.id, keys: $0.keys.compactMap { UInt64($0, radix: 16) }, lastUsed: $0.lastUsed) }
    }

    /// How many keys of each slot were saved.
    public var savedKeys: [Int: Int] {
        Dictionary(slots.filter { $0.savedKeys > 0 }.map { ($0.id, $0.savedKeys) }, uniquingKeysWith: { a, _ in a })
    }

    /// Reads a map's bytes, or says why they are not a map this build can use.
    public static func decode(_ data: Data) throws(SavedConversation.Invalid) -> SlotMap {
        guard data.count <= maxBytes else { throw .init(reason: "larger than \(maxBytes) bytes") }
        let m: SlotMap
        do {
            m = try JSONDecoder().decode(SlotMap.self, from: data)
        } catch {
            throw .init(reason: "not a slot map")
        }
        guard m.version == version else { throw .init(reason: "version \(m.version), not \(version)") }
        guard m.pid > 0, m.startTime > 0 else { throw .init(reason: "no process named") }
        guard (1...maxSlots).contains(m.slots.count), Set(m.slots.map(\.id)).count == m.slots.count,
              m.slots.allSatisfy({ (0..<maxSlots).contains($0.id) })
        else { throw .init(reason: "the slots are not 1...\(maxSlots) distinct ids below \(maxSlots)") }
        for s in m.slots {
            guard s.keys.count <= SavedConversation.maxKeys, s.keys.allSatisfy({ $0.utf8.count == 16 && UInt64($0, radix: 16) != nil })
            else { throw .init(reason: "slot \(s.id): the prefix keys are not at most \(SavedConversation.maxKeys) 16-digit hex values") }
            guard s.lastUsed.isFinite, s.lastUsed >= 0, s.lastUsed < 1e15 else { throw .init(reason: "slot \(s.id): last use out of range") }
            guard (0...s.keys.count).contains(s.savedKeys) else { throw .init(reason: "slot \(s.id): saved keys out of range") }
        }
        return m
    }

    /// The map as JSON (sorted keys: stable files).
    public func encoded() -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return (try? e.encode(self)) ?? Data()
    }
}
