import AsyncHTTPClient
import Foundation
import HermesCore
import Metrics
import NIOCore

/// The effects: llama-server's `/slots/{id}?action=save|restore` and the files under `kv/PROFILE/`.
extension WarmCaches {
    func folder(_ profile: String) -> URL { paths.kvDirectory(profile: profile) }

    func sidecarURL(profile: String, file: String) -> URL {
        folder(profile).appendingPathComponent((file as NSString).deletingPathExtension + ".json")
    }

    /// The sidecars of `identity` in the profile's folder. Anything else there (another identity, a
    /// garbage or truncated record, a slot file without its record, a leftover temporary) is removed,
    /// with a log line: outside input, never trusted.
    func loadIndex(profile: String, identity: WarmIdentity) -> [SavedConversation] {
        let dir = folder(profile)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        let maxAge = state.withLock { $0.settings.maxAge }
        let now = Date().timeIntervalSince1970
        var out: [SavedConversation] = []
        var keep = Set<String>()
        keep.insert(Self.slotMapName)  // the running server's slot map (WarmCaches+slotMap), not a record
        for name in names.sorted() where name.hasSuffix(".json") && name != Self.slotMapName {
            let url = dir.appendingPathComponent(name)
            let why: String
            do throws(SavedConversation.Invalid) {
                let r = try SavedConversation.read(url)
                let binBytes = (try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(r.file).path)[.size] as? NSNumber)?.intValue
                if r.identity != identity {
                    why = "saved by another model, build or KV layout"
                } else if now - r.savedAt > maxAge {
                    why = "older than kv_cache.max_age"
                } else if binBytes == nil || binBytes != r.bytes {
                    why = "its slot file is missing or not the size recorded"
                } else {
                    out.append(r)
                    keep.insert(r.file)
                    keep.insert(name)
                    continue
                }
            } catch {
                why = "not a usable record (\(error.reason))"
            }
            logger.notice("saved prompt cache ignored and removed", metadata: ["profile": "\(profile)", "file": "\(name)", "why": "\(why)"])
            events?("kv_ignored", profile, why, name)
            try? FileManager.default.removeItem(at: url)
        }
        for name in names where !keep.contains(name) && !name.hasSuffix(".json") {
            logger.notice("saved prompt cache ignored and removed", metadata: ["profile": "\(profile)", "file": "\(name)", "why": "no record of it"])
            events?("kv_ignored", profile, "no record of it", name)
            try? FileManager.default.removeItem(at: dir.appendingPathComponent(name))
        }
        return out
    }

    /// The records in the profile's folder that read as records (nothing is removed: for `status`).
    public func savedOnDisk(profile: String) -> [SavedConversation] { SavedConversation.readAll(in: folder(profile)) }

    /// Restores `file` into `slot`; the tokens restored, or nil when the server refused.
    func restore(profile: String, baseURL: String, slot: Int, file: String) async -> Int? {
        let t0 = ContinuousClock.now
        let answer = await slotAction(baseURL: baseURL, slot: slot, action: "restore", filename: file, timeout: 60)
        let n = answer?.nRestored
        state.withLock { s in
            if let n, n > 0 { s.counters.restores += 1 } else { s.counters.restoreFailures += 1 }
        }
        if (n ?? 0) <= 0 { Counter(label: "hermes_warm_restores_total", dimensions: [("profile", profile), ("result", "failed")]).increment() }
        logger.info("prompt cache restored", metadata: [
            "profile": "\(profile)", "slot": "\(slot)", "file": "\(file)", "tokens": "\(n ?? -1)",
            "ms": "\(((ContinuousClock.now - t0) / .milliseconds(1)).rounded())",
        ])
        return (n ?? 0) > 0 ? n : nil
    }

    /// Saves every idle slot of `profile` whose conversation grew since its last save, within
    /// `kv_cache.save_timeout` all told (a save past it is abandoned; the caller's stop goes on).
    public func saveAll(profile: String, baseURL: String) async {
        let (work, timeout) = state.withLock { s -> ([SlotMemory], Double) in
            guard let server = s.servers[profile] else { return ([], 0) }
            return (server.grownSlots, s.settings.saveTimeout)
        }
        guard !work.isEmpty else { return }
        let deadline = ContinuousClock.now + .seconds(timeout)
        for slot in work {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                logger.warning("saving prompt caches took too long; the rest is abandoned", metadata: ["profile": "\(profile)"])
                break
            }
            await save(profile: profile, baseURL: baseURL, slot: slot, timeout: Double(left.components.seconds) + 1)
        }
        enforceBudget()
    }

    func save(profile: String, baseURL: String, slot: SlotMemory, timeout: Double) async {
        guard let identity = state.withLock({ $0.servers[profile]?.identity }), let last = slot.keys.last else { return }
        let dir = folder(profile)
        let tmp = "tmp-\(UUID().uuidString.lowercased()).bin"
        let file = "c-\(SavedConversation.hex(last)).bin"
        let answer = await slotAction(baseURL: baseURL, slot: slot.id, action: "save", filename: tmp, timeout: timeout)
        guard let answer, let tokens = answer.nSaved, tokens > 0, let bytes = answer.nWritten,
              rename(dir.appendingPathComponent(tmp).path, dir.appendingPathComponent(file).path) == 0
        else {
            try? FileManager.default.removeItem(at: dir.appendingPathComponent(tmp))
            state.withLock { $0.counters.saveFailures += 1 }
            logger.warning("prompt cache not saved", metadata: ["profile": "\(profile)", "slot": "\(slot.id)"])
            return
        }
        _ = chmod(dir.appendingPathComponent(file).path, 0o600)
        let record = SavedConversation(file: file, keys: slot.keys, tokens: tokens, bytes: bytes,
                                       savedAt: Date().timeIntervalSince1970, identity: identity)
        do {
            try WarmFiles.writeAtomically(record.encoded(), to: sidecarURL(profile: profile, file: file))
        } catch {
            try? FileManager.default.removeItem(at: dir.appendingPathComponent(file))
            state.withLock { $0.counters.saveFailures += 1 }
            return
        }
        // Earlier saves of the same conversation (their keys lead this one's) are superseded.
        let superseded: [SavedConversation] = state.withLock { s in
            guard var server = s.servers[profile] else { return [] }
            let old = server.saved.filter { $0.file != file && $0.keyValues.count <= slot.keys.count
                && PrefixKeys.sharedCount($0.keyValues, slot.keys) == $0.keyValues.count }
            server.saved.removeAll { r in r.file == file || old.contains { $0.file == r.file } }
            server.saved.append(record)
            server.savedKeys[slot.id] = slot.keys.count
            s.servers[profile] = server
            s.counters.saves += 1
            return old
        }
        for r in superseded { remove(profile: profile, r) }
        Counter(label: "hermes_warm_saves_total", dimensions: [("profile", profile)]).increment()
        publishBytes()
        logger.info("prompt cache saved", metadata: ["profile": "\(profile)", "slot": "\(slot.id)", "tokens": "\(tokens)", "bytes": "\(bytes)"])
    }

    func remove(profile: String, _ r: SavedConversation) {
        try? FileManager.default.removeItem(at: folder(profile).appendingPathComponent(r.file))
        try? FileManager.default.removeItem(at: sidecarURL(profile: profile, file: r.file))
    }

    /// Oldest first out until every profile's files together fit `kv_cache.budget`.
    func enforceBudget() {
        let victims: [(String, SavedConversation)] = state.withLock { s in
            var all = s.servers.flatMap { name, server in server.saved.map { (name, $0) } }.sorted { $0.1.savedAt < $1.1.savedAt }
            var total = all.reduce(0) { $0 &+ $1.1.bytes }
            var out: [(String, SavedConversation)] = []
            while total > s.settings.budgetBytes, !all.isEmpty {
                let v = all.removeFirst()
                total &-= v.1.bytes
                out.append(v)
                s.servers[v.0]?.saved.removeAll { $0.file == v.1.file }
            }
            return out
        }
        for (profile, r) in victims {
            logger.notice("saved prompt cache evicted for the disk budget", metadata: ["profile": "\(profile)", "file": "\(r.file)"])
            events?("kv_evicted", profile, "kv_cache.budget", r.file)
            remove(profile: profile, r)
        }
        publishBytes()
    }

    /// `hermes_warm_bytes{profile}`: what the saved caches take on disk.
    func publishBytes() {
        let bytes = state.withLock { s in s.servers.mapValues { $0.saved.reduce(0) { $0 &+ $1.bytes } } }
        for (profile, b) in bytes { Gauge(label: "hermes_warm_bytes", dimensions: [("profile", profile)]).record(b) }
    }

    /// What `/slots/{id}?action=...` answers (typed; numbers out of range are dropped, never trapped on).
    struct SlotAnswer: Decodable {
        var nSaved: Int?
        var nWritten: Int?
        var nRestored: Int?
        var nRead: Int?
        enum CodingKeys: String, CodingKey {
            case nSaved = "n_saved", nWritten = "n_written", nRestored = "n_restored", nRead = "n_read"
        }
        var valid: Bool { [nSaved, nWritten, nRestored, nRead].allSatisfy { ($0 ?? 0) >= 0 } }
    }

    func slotAction(baseURL: String, slot: Int, action: String, filename: String, timeout: Double) async -> SlotAnswer? {
        var request = HTTPClientRequest(url: "\(baseURL)/slots/\(slot)?action=\(action)")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: Array(#"{"filename":"\#(filename)"}"#.utf8)))
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(min(max(timeout, 1), 600) * 1000)))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status.code == 200, let a = try? JSONDecoder().decode(SlotAnswer.self, from: Data(body.readableBytesView)), a.valid else { return nil }
            return a
        } catch {
            return nil
        }
    }
}
