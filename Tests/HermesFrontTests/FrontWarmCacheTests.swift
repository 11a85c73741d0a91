import Foundation
import HermesCore
import HermesFront
import HermesTestSupport
import Synchronization
import Testing

/// The front's side of warm prompt caches, in memory against a fault upstream: a `warm_cache` profile's
/// chat request gets `id_slot` spliced in and a receipt; every other profile's body goes as it came.
@Suite(.serialized) struct FrontWarmCacheTests {
    /// Places every request in slot 1, "restoring" 42 tokens; records what the front asked and ended.
    final class Placer: WarmCacheProvider {
        let asked = Mutex<[[UInt64]]>([])
        let ended = Mutex<[Int?]>([])
        let clientSlots = Mutex<[Int?]>([])
        func place(profile: String, status: LocalRuntimeStatus, keys: [UInt64], pinned: Bool, clientSlot: Int?) async -> WarmPlacement? {
            asked.withLock { $0.append(keys) }
            clientSlots.withLock { $0.append(clientSlot) }
            return WarmPlacement(slot: clientSlot ?? 1, restoredFile: "c-1.bin", restoredTokens: 42)
        }
        func finished(profile: String, placement: WarmPlacement, cacheN: Int?) { ended.withLock { $0.append(cacheN) } }
    }

    func config(_ up: FaultUpstream, warm: Bool) throws -> (HermesConfig, MutableRuntimeState) {
        var p = FrontFixture.local("local", burst: nil, context: 8192, slots: 2)
        if case .llamaServer(var s) = p.kind {
            s.warmCache = warm
            p.kind = .llamaServer(s)
        }
        let config = try FrontFixture.config([p], default: "local")
        let runtime = MutableRuntimeState(["local": LocalRuntimeStatus(phase: .ready, baseURL: up.url("ok"), slotsTotal: 2, contextPerSlot: 4096)])
        return (config, runtime)
    }

    @Test func aWarmProfileGetsItsSlotAndAReceipt() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try config(up, warm: true)
            let placer = Placer()
            var options = FrontOptions()
            options.warm = placer
            try await withFront(config, runtime: runtime, options: options) { f in
                let body = #"{"model":"any","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}],"max_tokens":4}"#
                let a = try await send(f.base + "/v1/chat/completions", json: body)
                #expect(a.status == 200)
                #expect(a.header("X-Hermes-Warm") == "restored 42")
                #expect(up.lastBody == #"{"id_slot":1,"# + body.dropFirst(), "id_slot spliced in; every other byte as sent")
                #expect(placer.asked.withLock { $0.first?.count } == 3, "head + two messages")
                #expect(placer.ended.withLock { $0.count } == 1, "the slot is freed once the answer is out")
                let e = try await f.event(id: a.requestID)
                #expect(e["warm_slot"] as? Int == 1)
                #expect(e["warm_restored"] as? Int == 42)
            }
        }
    }

    /// A client that pins its slot keeps it: no second `id_slot`, and the placement is its slot.
    @Test func aClientsOwnSlotIsKept() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try config(up, warm: true)
            let placer = Placer()
            var options = FrontOptions()
            options.warm = placer
            try await withFront(config, runtime: runtime, options: options) { f in
                let body = #"{"model":"any","id_slot":0,"messages":[{"role":"user","content":"hi"}],"max_tokens":4}"#
                let a = try await send(f.base + "/v1/chat/completions", json: body)
                #expect(a.status == 200)
                #expect(up.lastBody == body, "the client's id_slot, and no other")
                #expect(placer.clientSlots.withLock { $0 } == [0])
                #expect(try await f.event(id: a.requestID)["warm_slot"] as? Int == 0)
                // id_slot is read like every field the front reads: a bad one is the client's 400.
                let bad = try await send(f.base + "/v1/chat/completions", json: #"{"id_slot":"one","messages":[{"role":"user","content":"hi"}]}"#)
                #expect(bad.status == 400)
            }
        }
    }

    @Test func anyOtherProfileIsUntouched() async throws {
        try await withFaultUpstream { up in
            let (config, runtime) = try config(up, warm: false)
            let placer = Placer()
            var options = FrontOptions()
            options.warm = placer
            try await withFront(config, runtime: runtime, options: options) { f in
                let body = #"{"model":"any","messages":[{"role":"user","content":"hi"}],"max_tokens":4}"#
                let a = try await send(f.base + "/v1/chat/completions", json: body)
                #expect(a.status == 200)
                #expect(a.header("X-Hermes-Warm") == nil)
                #expect(up.lastBody == body)
                #expect(placer.asked.withLock { $0.isEmpty })
            }
        }
    }
}
