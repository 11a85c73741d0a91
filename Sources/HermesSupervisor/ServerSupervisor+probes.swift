import AsyncHTTPClient
import Foundation
import HermesCore
import NIOCore

/// What the supervisor asks a running llama-server over HTTP: `/health`, a one-token generation, the
/// slots. Nothing here touches the actor's state: each probe returns what it found, and the loop
/// (ServerSupervisor.livenessLoop) decides.
extension ServerSupervisor {
    nonisolated var baseURL: String { "http://\(command.host):\(command.port)" }

    /// nil when healthy, else why not.
    nonisolated func probeHealth() async -> String? {
        let timeout = health.timeout
        guard let r = await get("\(baseURL)\(health.path)", timeout: timeout) else {
            return "health check got no answer within \(timeout) s"
        }
        return r.status == 200 ? nil : "health answered \(r.status)"
    }

    /// A failed one-token generation: why, and whether the server answered at all.
    struct GenerationFailure {
        var reason: String
        /// No answer within the timeout (a stuck inference loop), not an error status.
        var noAnswer: Bool
    }

    /// nil when a one-token generation answers 200, else why not.
    /// `slot`: the slot to run it in (`SlotsReport.probeSlot`), so it does not displace a conversation.
    nonisolated func probeGeneration(slot: Int? = nil) async -> GenerationFailure? {
        let pin = slot.map { "\"id_slot\":\($0)," } ?? ""
        let body = #"{"# + pin + #""messages":[{"role":"user","content":"ping"}],"max_tokens":1,"temperature":0}"#
        let timeout = max(health.timeout, health.generationTimeout)
        guard let r = await post("\(baseURL)/v1/chat/completions", body: body, timeout: timeout) else {
            return GenerationFailure(reason: "a one-token generation got no answer within \(Int(timeout)) s", noAnswer: true)
        }
        return r.status == 200 ? nil : GenerationFailure(reason: "a one-token generation answered \(r.status)", noAnswer: false)
    }

    struct SlotFacts {
        var total: Int?
        var contextPerSlot: Int?
        /// nil when the server only answered `/props`.
        var busy: Int?
        /// The idle slot holding least and what it holds, for the generation probe (nil from `/props`).
        var probeSlot: (slot: Int, holds: Int)?
    }

    /// `/slots` gives each slot's `n_ctx` and `is_processing`; `/props` (when `/slots` is off) the totals.
    /// Read with `as?` only: a value of another type or out of `Int`'s range is left out, never trapped on.
    nonisolated func readSlots() async -> SlotFacts? {
        if let r = await get("\(baseURL)/slots", timeout: 2), r.status == 200,
            let slots = (try? JSONSerialization.jsonObject(with: r.body)) as? [[String: Any]], !slots.isEmpty
        {
            return SlotFacts(total: slots.count,
                             contextPerSlot: slots.compactMap { $0["n_ctx"] as? Int }.min(),
                             busy: slots.filter { ($0["is_processing"] as? Bool) == true }.count,
                             probeSlot: SlotsReport.probeSlot(r.body))
        }
        if let r = await get("\(baseURL)/props", timeout: 2), r.status == 200,
            let props = (try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any]
        {
            return SlotFacts(total: props["total_slots"] as? Int,
                             contextPerSlot: (props["default_generation_settings"] as? [String: Any])?["n_ctx"] as? Int,
                             busy: nil)
        }
        return nil
    }

    // MARK: HTTP

    struct Answer {
        var status: Int
        var body: Data
    }

    nonisolated func get(_ url: String, timeout: Double) async -> Answer? {
        await send(HTTPClientRequest(url: url), timeout: timeout)
    }

    nonisolated func post(_ url: String, body: String, timeout: Double) async -> Answer? {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        return await send(request, timeout: timeout)
    }

    /// `timeout` is a range-checked config value (ConfigLimits), so the conversion cannot trap.
    nonisolated func send(_ request: HTTPClientRequest, timeout: Double) async -> Answer? {
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            let body = try await response.body.collect(upTo: 4 << 20)
            return Answer(status: Int(response.status.code), body: Data(body.readableBytesView))
        } catch {
            return nil
        }
    }
}
