import AsyncHTTPClient
import Foundation
import HermesCore
import Logging
import Metrics
import Synchronization

/// Warm prompt caches of every `warm_cache: true` profile: what the front sent to each slot, the saved
/// conversations on disk (`STATE/kv/PROFILE/`), restores on demand and saves before a planned stop.
/// Decisions are `SlotChooser` / `RestoreChoice` (HermesCore); this class carries them out.
public final class WarmCaches: WarmCacheProvider, Sendable {
    let paths: RuntimePaths
    let http: HTTPClient
    let logger: Logger
    let state = Mutex(State())
    let origin = ContinuousClock.now

    /// Seconds since this object was made (the checkpoint schedule's clock).
    func elapsed() -> Double { (ContinuousClock.now - origin) / .seconds(1) }

    struct Server {
        var slots: [SlotMemory] = []
        /// Keys each slot held when it was last saved (a slot is saved again only when it grew).
        var savedKeys: [Int: Int] = [:]
        var identity: WarmIdentity?
        /// The saved conversations of this identity (the disk, read at start, kept in step by saves).
        var saved: [SavedConversation] = []
        var inFlight = 0
        /// Where the server answers, and which process it is (a new pid: a restart emptied every slot).
        var baseURL: String?
        var pid: Int32?
        /// When its last request ended (`elapsed()`), for checkpoints.
        var lastFinished: Double?
        /// The slot map last written to disk (`WarmCaches+slotMap`).
        var mapWritten: SlotMap?

        /// Idle slots holding more of a conversation than was last saved of them.
        var grownSlots: [SlotMemory] {
            slots.filter { !$0.busy && $0.keys.count >= 2 && $0.keys.count > (savedKeys[$0.id] ?? 0) }
        }
    }

    struct State {
        var servers: [String: Server] = [:]
        var settings = KVCacheSettings()
        var tick = 0.0
        var counters = WarmCounters()
    }

    /// What happened to a saved file that people should see (`kv_ignored`, `kv_useless`, `kv_evicted`):
    /// event, profile, reason, file. The daemon writes them to `model-events.jsonl`.
    public typealias EventSink = @Sendable (_ event: String, _ profile: String, _ reason: String, _ file: String) -> Void
    let events: EventSink?

    public init(paths: RuntimePaths, settings: KVCacheSettings, http: HTTPClient = .shared, logger: Logger, events: EventSink? = nil) {
        self.paths = paths
        self.http = http
        self.logger = logger
        self.events = events
        state.withLock { $0.settings = settings }
    }

    public func update(settings: KVCacheSettings) { state.withLock { $0.settings = settings } }

    /// A warm-cache server (re)started with `command`: its slots hold nothing; its saved files are the
    /// ones of its identity (the others are removed, with a log line).
    public func serverStarted(profile: String, command: LlamaServerCommand) {
        let identity = WarmIdentity.of(command)
        let saved = loadIndex(profile: profile, identity: identity)
        removeSlotMap(profile: profile)
        state.withLock { $0.servers[profile] = Server(identity: identity, saved: saved) }
    }

    public func serverStopped(profile: String) {
        state.withLock { s in
            s.servers[profile]?.slots = []
            s.servers[profile]?.savedKeys = [:]
            s.servers[profile]?.baseURL = nil
            s.servers[profile]?.mapWritten = nil
        }
        removeSlotMap(profile: profile)
    }

    // MARK: WarmCacheProvider

    public func place(profile: String, status: LocalRuntimeStatus, keys: [UInt64], pinned: Bool, clientSlot: Int? = nil) async -> WarmPlacement? {
        guard let slots = status.slotsTotal, slots > 0, slots <= 256, let baseURL = status.baseURL else { return nil }
        let (decision, previous): (RestoreChoice.Decision?, [UInt64]) = state.withLock { s in
            guard var server = s.servers[profile] else { return (nil, []) }
            if server.slots.count != slots || server.pid != status.pid {
                // Another process (a restart after a crash): its slots hold nothing.
                server.slots = (0..<slots).map { SlotMemory(id: $0) }
                server.savedKeys = [:]
                server.pid = status.pid
            }
            server.baseURL = baseURL
            // A client that names its slot keeps it: the choice is among that slot alone.
            var candidates = server.slots
            if let c = clientSlot {
                guard let i = server.slots.firstIndex(where: { $0.id == c }) else {
                    s.servers[profile] = server
                    return (nil, [])  // no such slot: llama-server answers it
                }
                guard !server.slots[i].busy else {
                    // It waits behind the request on that slot; what the slot holds after is unknown.
                    server.slots[i].keys = []
                    server.savedKeys[c] = nil
                    s.servers[profile] = server
                    return (nil, [])
                }
                candidates = [server.slots[i]]
            }
            let d = RestoreChoice.decide(keys, slots: candidates, saved: server.saved.map(\.prefix))
            s.tick += 1
            let slot: Int?
            switch d {
            case .live(let c): slot = c.slot
            case .restore(_, let target, _, _): slot = target
            case .none: slot = nil
            }
            var previous: [UInt64] = []
            if let slot, let i = server.slots.firstIndex(where: { $0.id == slot }) {
                // What the slot holds if llama-server puts an unpinned request elsewhere.
                if case .restore(let file, _, _, _) = d {
                    previous = server.saved.first { $0.file == file }?.keyValues ?? []
                } else {
                    previous = server.slots[i].keys
                }
                server.slots[i].busy = true
                server.slots[i].keys = keys
                server.slots[i].lastUsed = s.tick
                server.inFlight += 1
                // What was saved of the slot's old conversation no longer says what it holds.
                server.savedKeys[slot] = nil
            }
            s.servers[profile] = server
            return (d, previous)
        }
        let unpinned = pinned ? [] : keys
        switch decision {
        case .live(let c)?: return WarmPlacement(slot: c.slot, pinned: pinned, previousKeys: previous, keys: unpinned)
        case .restore(let file, let slot, _, _)?:
            let restored = await restore(profile: profile, baseURL: baseURL, slot: slot, file: file)
            return WarmPlacement(slot: slot, restoredFile: restored == nil ? nil : file, restoredTokens: restored ?? 0,
                                 pinned: pinned, previousKeys: previous, keys: unpinned)
        case .none?, nil: return nil
        }
    }

    public func finished(profile: String, placement: WarmPlacement, cacheN: Int?) {
        let now = elapsed()
        let useless: SavedConversation? = state.withLock { s in
            guard var server = s.servers[profile] else { return nil }
            if let i = server.slots.firstIndex(where: { $0.id == placement.slot }) { server.slots[i].busy = false }
            server.inFlight = max(0, server.inFlight - 1)
            server.lastFinished = now
            // Unpinned: judged once `/slots` says the request ran in the restored slot (`learn`).
            let marked = placement.pinned ? Self.judgeRestore(&server, &s.counters, profile: profile, placement: placement, cacheN: cacheN) : nil
            s.servers[profile] = server
            return marked
        }
        guard placement.pinned else {
            Task { await self.learn(profile: profile, placement: placement, cacheN: cacheN) }
            return
        }
        reportRestore(profile: profile, placement: placement, cacheN: cacheN, useless: useless)
    }

    /// Counts a restore's outcome; the saved conversation to mark useless when the server reused nothing.
    static func judgeRestore(_ server: inout Server, _ counters: inout WarmCounters, profile: String, placement: WarmPlacement,
                             cacheN: Int?) -> SavedConversation? {
        guard let file = placement.restoredFile else { return nil }
        if let n = cacheN, n == 0, let i = server.saved.firstIndex(where: { $0.file == file }) {
            server.saved[i].useless = true
            counters.restoresUseless += 1
            return server.saved[i]
        } else if let n = cacheN, n > 0 {
            counters.restoresReused += 1
            counters.tokensRestored += n
            Counter(label: "hermes_warm_tokens_restored_total", dimensions: [("profile", profile)]).increment(by: Int64(n))
        }
        return nil
    }

    /// The metric of a restore's outcome, and a useless file's log line, event and sidecar.
    func reportRestore(profile: String, placement: WarmPlacement, cacheN: Int?, useless: SavedConversation?) {
        if placement.restoredFile != nil {
            let result = cacheN.map { $0 > 0 ? "reused" : "useless" } ?? "unknown"
            Counter(label: "hermes_warm_restores_total", dimensions: [("profile", profile), ("result", result)]).increment()
        }
        if let useless {
            // The sliding-window trap or a broken build: never tried again (the sidecar says so).
            logger.warning("restored prompt cache was not reused; marked useless",
                           metadata: ["profile": "\(profile)", "file": "\(useless.file)", "tokens": "\(useless.tokens)"])
            events?("kv_useless", profile, "cache_n 0 after a restore", useless.file)
            try? WarmFiles.writeAtomically(useless.encoded(), to: sidecarURL(profile: profile, file: useless.file))
        }
    }

    /// Requests in flight on `profile`'s server, as sent through `place`.
    public func inFlight(profile: String) -> Int { state.withLock { $0.servers[profile]?.inFlight ?? 0 } }

    /// Saves, restores and bytes so far, for metrics and `status`.
    public var counters: WarmCounters { state.withLock { $0.counters } }
}

/// Totals since the daemon started.
public struct WarmCounters: Sendable, Equatable, Codable {
    public var saves = 0
    public var saveFailures = 0
    public var restores = 0
    public var restoresReused = 0
    public var restoresUseless = 0
    public var restoreFailures = 0
    public var tokensRestored = 0
}

extension WarmIdentity {
    /// The identity of what `command` runs: its model and executable files (path, size, mtime) and the
    /// flags that shape the KV.
    static func of(_ command: LlamaServerCommand) -> WarmIdentity {
        let args = command.arguments
        func value(_ flags: Set<String>) -> String? {
            guard let i = args.firstIndex(where: flags.contains), i + 1 < args.count else { return nil }
            return args[i + 1]
        }
        let model = value(["-m", "--model"]) ?? ""
        let m = fileStamp(model), e = fileStamp(command.executable)
        var kv: [String] = []
        for (name, flags) in [("c", ["-c", "--ctx-size"]), ("np", ["-np", "--parallel"]), ("ctk", ["-ctk", "--cache-type-k"]),
                              ("ctv", ["-ctv", "--cache-type-v"])] {
            kv.append("\(name)=\(value(Set(flags)) ?? "-")")
        }
        kv.append("swa_full=\(args.contains("--swa-full"))")
        return WarmIdentity(model: model, modelBytes: m.size, modelModified: m.modified,
                            server: "\(command.executable):\(e.size):\(Int(e.modified))", kvFlags: kv.joined(separator: ","))
    }

    static func fileStamp(_ path: String) -> (size: Int, modified: Double) {
        let a = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (a?[.size] as? NSNumber)?.intValue ?? 0
        let modified = (a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return (size, modified.isFinite ? modified.rounded() : 0)
    }
}
