import Foundation

/// Why a request left the profile routing chose for it. The raw values are the receipts' reasons.
public enum BurstReason: String, Sendable, Codable, CaseIterable {
    /// The local server is not serving (stopped, starting, restarting, failed).
    case localDown = "local_down"
    /// Prompt tokens plus the output reserve exceed the live per-slot context or `context_over`.
    case context
    /// Every slot stayed busy for the profile's `queue_wait`.
    case overflow
    /// The local server answered 502/503, refused the connection or timed out before the first byte.
    case localError = "local_error"
    /// The on-demand model is loading and the profile says `while_loading: burst` (or the wait ran out).
    case loading
    /// The on-demand model does not fit the memory it would use, even after evicting idle servers.
    case noMemory = "no_memory"
    /// The request carries an image and the local model cannot see (no `mmproj`, no `vision: true`).
    case vision
    /// The profile does not speak the request's API (its `apis:`).
    case api
    /// The local answer called a tool the request did not offer, or with arguments that are not JSON.
    case badToolCall = "bad_tool_call"
}

/// What the burst checks say about sending a request to a local profile now.
public enum LocalVerdict: Sendable, Equatable {
    /// Not ready, or no address known.
    case down(LocalRuntimeStatus.Phase?)
    /// `need` = prompt tokens + output reserve is above `limit` (per-slot context or `context_over`).
    case tooLong(need: Int, limit: Int)
    /// The ESTIMATE is too close to `limit` to trust: count exactly, then check again.
    case nearLimit(need: Int, limit: Int)
    /// The front's own in-flight requests fill every slot.
    case busy(inFlight: Int, slots: Int)
    /// Send it; `maxTokens` is the clamped value to put in the body (nil: leave the body's as is).
    case fits(maxTokens: Int?)
}

/// The burst checks for a local target, as pure functions over the supervisor's status, the profile and
/// the front's own in-flight count. Order: down, then context (no point waiting for a slot a prompt
/// cannot fit in), then overflow.
public enum BurstCheck {
    /// An estimate at or below `lower` x limit is trusted to fit; above `upper` x limit it is trusted not
    /// to. Between the two, the exact count decides. Bytes/4 undercounts code by up to ~25% and
    /// overcounts JSON-heavy bodies; the band covers both.
    public static let lower = 0.7
    public static let upper = 1.4

    /// Tokens held back for the answer: `max_tokens` capped by the profile's `output_reserve`.
    /// Real clients send huge `max_tokens` (the Hermes agent sends its whole context length), and that
    /// alone must not push every request to the cloud.
    public static func outputReserve(maxTokens: Int?, settings: LlamaServerSettings) -> Int {
        let cap = settings.effectiveOutputReserve
        guard let m = maxTokens, m >= 0 else { return cap }
        return min(m, cap)
    }

    /// The context a request must fit in: the LIVE per-slot context (configured `context / slots` until
    /// the supervisor has read it), lowered by `context_over`. Nil when nothing is known.
    public static func contextLimit(settings: LlamaServerSettings, status: LocalRuntimeStatus?) -> Int? {
        var perSlot = status?.contextPerSlot
        if perSlot == nil, let c = settings.context, c > 0 {
            perSlot = c / max(1, settings.slots ?? 1)
        }
        switch (perSlot, settings.contextOver) {
        case (let p?, let o?): return min(p, o)
        case (let p?, nil): return p
        case (nil, let o?): return o
        default: return nil
        }
    }

    /// Slots the server has: live `total_slots`, else the configured `slots`, else 1.
    public static func slotCount(settings: LlamaServerSettings, status: LocalRuntimeStatus?) -> Int {
        max(1, status?.slotsTotal ?? settings.slots ?? 1)
    }

    /// A server that takes requests: ready, or unhealthy with its process alive (a slow probe under load
    /// must not send a request the user meant for the local model to the cloud; if the server really
    /// fails the request, it bursts as `local_error`). Stopped, starting, restarting and failed do not.
    public static func isServing(_ status: LocalRuntimeStatus) -> Bool {
        status.phase == .ready || status.phase == .unhealthy
    }

    /// The checks in order. `exact` says `promptTokens` came from the server's tokenizer.
    public static func checkLocal(
        settings: LlamaServerSettings, status: LocalRuntimeStatus?, promptTokens: Int, exact: Bool,
        maxTokens: Int?, inFlight: Int
    ) -> LocalVerdict {
        guard let status, isServing(status), status.baseURL != nil else { return .down(status?.phase) }
        let need = promptTokens + outputReserve(maxTokens: maxTokens, settings: settings)
        if let limit = contextLimit(settings: settings, status: status) {
            if exact {
                if need > limit { return .tooLong(need: need, limit: limit) }
            } else if Double(need) > Double(limit) * upper {
                return .tooLong(need: need, limit: limit)
            } else if Double(need) > Double(limit) * lower {
                return .nearLimit(need: need, limit: limit)
            }
        }
        let slots = slotCount(settings: settings, status: status)
        if inFlight >= slots { return .busy(inFlight: inFlight, slots: slots) }
        return .fits(maxTokens: clampedMaxTokens(maxTokens, promptTokens: promptTokens, slotContext: status.contextPerSlot))
    }

    /// A request kept local may not ask for more tokens than its slot can still hold; llama-server would
    /// otherwise stop at the slot's end or shift context. Nil when nothing needs changing.
    public static func clampedMaxTokens(_ maxTokens: Int?, promptTokens: Int, slotContext: Int?) -> Int? {
        guard let m = maxTokens, let c = slotContext else { return nil }
        let room = max(1, c - promptTokens)
        return m > room ? room : nil
    }
}

/// How the front treats an upstream's answer or failure before the first byte reached the client.
public enum UpstreamVerdict: Sendable, Equatable {
    /// Pass it to the client (success, or an error that another profile would not fix, such as a 400).
    case deliver
    /// Try the next candidate: the burst profile for a local one, the fallback list for a remote one.
    case tryNext
}

public enum UpstreamPolicy {
    /// Local: 502/503 try the burst profile. Remote: 429 and every 5xx try the next fallback.
    public static func verdict(status: Int, isLocal: Bool) -> UpstreamVerdict {
        if isLocal { return (status == 502 || status == 503) ? .tryNext : .deliver }
        return (status == 429 || (500...599).contains(status)) ? .tryNext : .deliver
    }

    /// Seconds from a `Retry-After` value: delta-seconds or an HTTP-date. Nil when absent or unreadable.
    public static func retryAfter(_ value: String?, now: Date = Date()) -> Double? {
        guard let v = value?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
        if let s = Double(v), s.isFinite, s >= 0 { return s }
        guard let date = httpDate(v) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }

    /// An IMF-fixdate (`Tue, 14 Nov 2023 22:13:50 GMT`, RFC 9110), read by hand: Foundation's
    /// DateFormatter traps on some non-ASCII input (found by the `upstream` fuzz target), and a header
    /// is the upstream's to write.
    public static func httpDate(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 29, b.allSatisfy({ $0 < 0x80 }), b[3] == UInt8(ascii: ","), b[4] == 0x20, b[7] == 0x20, b[11] == 0x20,
            b[16] == 0x20, b[19] == UInt8(ascii: ":"), b[22] == UInt8(ascii: ":"), b[25] == 0x20,
            String(decoding: b[26..<29], as: UTF8.self) == "GMT"
        else { return nil }
        func number(_ r: Range<Int>) -> Int? {
            var n = 0
            for i in r {
                guard b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") else { return nil }
                n = n * 10 + Int(b[i] - UInt8(ascii: "0"))
            }
            return n
        }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let d = number(5..<7), let y = number(12..<16), let hh = number(17..<19), let mm = number(20..<22),
            let ss = number(23..<25), let monthIndex = months.firstIndex(of: String(decoding: b[8..<11], as: UTF8.self)),
            (1...31).contains(d), (0...23).contains(hh), (0...59).contains(mm), (0...60).contains(ss)
        else { return nil }
        // Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). Four-digit
        // years keep every product small.
        let m = monthIndex + 1
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Date(timeIntervalSince1970: Double(days * 86400 + hh * 3600 + mm * 60 + ss))
    }

    /// How long a remote is skipped: Retry-After when the answer had one, else its `cooldown`.
    public static func cooldown(retryAfter: Double?, settings: OpenAISettings) -> Double {
        // An absurd Retry-After must not park a provider for days: cap at an hour.
        min(retryAfter ?? settings.effectiveCooldown, 3600)
    }
}
