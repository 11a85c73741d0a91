import Foundation
import HTTPTypes
import HermesCore
import NIOCore
import Synchronization

extension HTTPField.Name {
    /// `restored N` when a saved prompt cache was restored for the request (N tokens), else `slot S`
    /// (`slot auto` where llama-server chooses: `/v1/messages`).
    static let hermesWarm = HTTPField.Name("X-Hermes-Warm")!
}

extension RoutingFront {
    /// For a `warm_cache` profile's generating request (chat, completions, Responses, Anthropic
    /// Messages): the slot it goes to (a saved conversation restored there first when that is worth
    /// it). Nil for every other request: the body goes as it came.
    func placeWarm(_ profile: Profile, _ job: Job, status: LocalRuntimeStatus, base: String) async -> WarmPlacement? {
        guard profile.llamaServer?.warmCache == true, let warm = options.warm, job.decoded.endpoint.picksSlot else { return nil }
        let keys = job.raw.withUnsafeReadableBytes { PrefixKeys.keys(for: job.decoded, body: $0) }
        let takes = job.decoded.endpoint.takesSlotID
        let placement = await warm.place(profile: profile.name, status: status, keys: keys, pinned: takes,
                                         clientSlot: takes ? job.decoded.slotID : nil)
        if let placement {
            job.record.update {
                $0.warmSlot = placement.slot
                $0.warmRestored = placement.restoredTokens > 0 ? placement.restoredTokens : nil
            }
        }
        return placement
    }

    /// `"id_slot":N,` after the body's opening brace (a body that picks a slot always has members);
    /// nothing where llama-server drops it (`/v1/messages`: it chooses, and `/slots` says which) or
    /// where the client named its own (the placement is that slot).
    static func slotEdit(_ request: DecodedRequest, slot: Int) -> [BodyEdit] {
        guard request.endpoint.takesSlotID, request.slotID == nil else { return [] }
        var member = Array("\"id_slot\":\(slot)".utf8)
        if request.memberCount > 0 { member.append(UInt8(ascii: ",")) }
        return [BodyEdit(range: request.objectStart..<request.objectStart, bytes: member)]
    }

    /// The placement ends without an answer (failed, promoted): the slot is free again.
    func warmDone(_ profile: String, _ placement: WarmPlacement?, cacheN: Int?) {
        guard let placement else { return }
        options.warm?.finished(profile: profile, placement: placement, cacheN: cacheN)
    }
}

/// Watches a warm-cache answer go out: keeps its last bytes for `timings.cache_n`, and frees the slot
/// once, however the stream ends.
final class WarmWatch: Sendable {
    let placement: WarmPlacement
    let profile: String
    let record: RequestRecord
    let front: RoutingFront
    private let tail = Mutex<(bytes: [UInt8], done: Bool)>(([], false))

    init(placement: WarmPlacement, profile: String, record: RequestRecord, front: RoutingFront) {
        self.placement = placement
        self.profile = profile
        self.record = record
        self.front = front
    }

    func see(_ chunk: ByteBuffer) {
        tail.withLock { t in
            t.bytes.append(contentsOf: chunk.readableBytesView.suffix(CacheCountScan.tailBytes))
            if t.bytes.count > 2 * CacheCountScan.tailBytes { t.bytes.removeFirst(t.bytes.count - CacheCountScan.tailBytes) }
        }
    }

    func finish() {
        let bytes: [UInt8]? = tail.withLock { t in
            guard !t.done else { return nil }
            t.done = true
            return t.bytes
        }
        guard let bytes else { return }
        // `timings.cache_n` (chat, completions, a Responses stream); else what the answer's usage says
        // was read from the cache: Anthropic's `cache_read_input_tokens` (llama-server's cache_n, in the
        // stream's first event) and a whole Responses answer's `input_tokens_details.cached_tokens`.
        let usage = record.snapshot.usage
        let cacheN = CacheCountScan.cacheN(in: bytes) ?? usage?.localCached ?? usage?.cached
        record.update { $0.cacheN = cacheN }
        front.warmDone(profile, placement, cacheN: cacheN)
    }
}
