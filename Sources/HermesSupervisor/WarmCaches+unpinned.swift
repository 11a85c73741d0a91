import AsyncHTTPClient
import Foundation
import HermesCore
import NIOCore

/// Requests that cannot name their slot (Anthropic `/v1/messages`: llama-server b11434 drops `id_slot`
/// there): the front placed them as if they could (and restored into that slot, which llama-server's
/// own choice by prompt similarity then takes), and once the answer is out, `/slots` says where the
/// request really ran. The slot memory follows the server, so saves record what each slot holds.
extension WarmCaches {
    func learn(profile: String, placement: WarmPlacement, cacheN: Int?) async {
        let actual = await lastServed(profile: profile)
        let (useless, moved): (SavedConversation?, Bool) = state.withLock { s in
            guard var server = s.servers[profile], let actual,
                  let placed = server.slots.firstIndex(where: { $0.id == placement.slot }),
                  let took = server.slots.firstIndex(where: { $0.id == actual }) else { return (nil, false) }
            var marked: SavedConversation?
            var moved = false
            if placed == took {
                marked = Self.judgeRestore(&server, &s.counters, profile: profile, placement: placement, cacheN: cacheN)
            } else if !server.slots[took].busy {
                // llama-server took another slot: it holds this conversation now; the placed one still
                // holds what it held (a restored file's conversation, or its old one).
                server.slots[took].keys = placement.keys
                server.slots[took].lastUsed = server.slots[placed].lastUsed
                server.savedKeys[actual] = nil
                if !server.slots[placed].busy, server.slots[placed].keys == placement.keys {
                    server.slots[placed].keys = placement.previousKeys
                }
                moved = true
            }
            s.servers[profile] = server
            return (marked, moved)
        }
        if moved, let actual {
            logger.info("llama-server ran an unpinned request in another slot", metadata: [
                "profile": "\(profile)", "placed": "\(placement.slot)", "slot": "\(actual)",
            ])
        }
        reportRestore(profile: profile, placement: placement, cacheN: actual == placement.slot ? cacheN : nil, useless: useless)
    }

    /// The slot that ran the latest request, from `GET /slots` (bounded: 2 s, `SlotsReport.maxBytes`).
    func lastServed(profile: String) async -> Int? {
        guard let base = state.withLock({ $0.servers[profile]?.baseURL }) else { return nil }
        var request = HTTPClientRequest(url: base + "/slots")
        request.method = .GET
        do {
            let response = try await http.execute(request, timeout: .seconds(2))
            let body = try await response.body.collect(upTo: SlotsReport.maxBytes)
            guard response.status.code == 200 else { return nil }
            return SlotsReport.lastServed(Data(body.readableBytesView))
        } catch {
            return nil
        }
    }
}
