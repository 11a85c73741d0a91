import AsyncHTTPClient
import Foundation
import HTTPTypes
import HermesCore
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension RoutingFront {
    /// Answers without forwarding (auth, bad input, confirm, unavailable, all failed) and writes the event.
    /// Every such answer carries `X-Request-Id` and `X-Hermes-Route` (`none`), and its event a reason
    /// (the error's own, e.g. `invalid_request`) and the bytes that went out.
    func finishEarly(_ record: RequestRecord, _ response: Response, overhead: Duration? = nil) -> Response {
        let status = Int(response.status.code)
        record.update {
            $0.status = status
            $0.overhead = overhead ?? (ContinuousClock.now - record.start)
            if status >= 400, $0.error == nil { $0.error = "\(status)" }
            if $0.reason.isEmpty { $0.reason = Self.reason(forStatus: status) }
            $0.bytesOut = response.body.contentLength ?? 0
        }
        writeEvent(record)
        var r = response
        if r.headers[.requestID] == nil { r.headers[.requestID] = record.id }
        if r.headers[.hermesRoute] == nil { r.headers[.hermesRoute] = "none" }
        if r.headers[.hermesReason] == nil { r.headers[.hermesReason] = record.snapshot.reason }
        return r
    }

    /// The event's reason for an answer the front gave itself before any routing.
    static func reason(forStatus status: Int) -> String {
        switch status {
        case 401: return "unauthorized"
        case 404, 405: return "unknown_endpoint"
        case 413: return "body_too_large"
        case 431: return "headers_too_large"
        case 400..<500: return "invalid_request"
        default: return "front_error"
        }
    }

    /// One JSON line: never the prompt text, never a key.
    func writeEvent(_ record: RequestRecord) {
        let first = record.written.withLock { w in
            defer { w = true }
            return !w
        }
        guard first else { return }
        let f = record.snapshot
        let total = ContinuousClock.now - record.start
        var latency = JSONLine()
        latency.add("total_ms", ms: total.milliseconds)
        latency.add("front_ms", ms: f.overhead.milliseconds)
        latency.add("upstream_ms", ms: f.attempts.isEmpty ? 0 : max(0, (total - f.overhead).milliseconds))
        latency.add("first_byte_ms", ms: f.firstByte?.milliseconds)
        let attempts = f.attempts.map { a in
            var o = JSONLine(capacity: 64)
            o.add("profile", a.profile)
            o.add("outcome", a.outcome)
            o.add("ms", ms: a.milliseconds)
            if a.halfOpen { o.add("half_open", true) }
            return o
        }
        var e = JSONLine(capacity: 640)
        e.add("time", Self.iso8601(record.wallClock))
        e.add("id", record.id)
        e.add("endpoint", f.endpoint)
        e.add("status", f.status)
        e.add("profile", f.profile)
        e.add("selected_by", f.selectedBy)
        e.add("rule", f.rule)
        e.add("reason", f.reason)
        if !f.reasons.isEmpty { e.add("reasons", strings: f.reasons) }
        e.add("attempts", objects: attempts)
        e.add("stream", f.stream)
        e.add("latency", object: latency)
        e.add("prompt_tokens_estimate", f.promptTokensEstimate)
        e.add("prompt_tokens_exact", f.promptTokensExact)
        e.add("prompt_sha256", f.promptSHA256)
        e.add("prompt_chars", f.promptChars)
        e.add("bytes_out", f.bytesOut)
        e.add("cut", f.cut)
        e.add("warm_slot", f.warmSlot)
        e.add("warm_restored", f.warmRestored)
        e.add("cache_n", f.cacheN)
        if let u = f.usage {
            addUsage(&e, u, f)
            if !f.spendRecorded { recordSpend(f, at: record.wallClock) }
        }
        events.append(e.finished())
        let profile = f.profile ?? "none"
        metrics.request(profile: profile, reason: f.reason.isEmpty ? "none" : f.reason, status: f.status, total: total,
                        firstByte: f.firstByte, overhead: f.overhead)
    }

    /// UTC `2026-11-24T19:30:18.512Z`, by hand: Foundation's formatters go through ICU on Linux.
    static func iso8601(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        let ms = Int((date.timeIntervalSince1970 - Double(t)) * 1000)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let msText = ms < 10 ? "00\(ms)" : (ms < 100 ? "0\(ms)" : "\(ms)")
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(msText)Z"
    }

    // MARK: exact token count

    /// Asks the local server for the exact prompt tokens: `/v1/chat/completions/input_tokens` for a chat
    /// body (template and tools included), else `/tokenize` on the prompt text. Nil when it cannot.
    func countTokens(profile: String, status: LocalRuntimeStatus?, ctx: RouteContext, prompt: [UInt8],
                     body: ByteBuffer) async -> Int?
    {
        guard let base = status?.baseURL else { return nil }
        func post(_ path: String, _ payload: ByteBuffer) async -> [UInt8]? {
            guard let resp = try? await send(url: base + path, headers: ["content-type": "application/json"], body: payload,
                                             isLocal: true, timeout: options.tokenCountTimeout),
                let buf = try? await resp.body.collect(upTo: 64 << 20), resp.status == 200
            else { return nil }
            return Array(buf.readableBytesView)
        }
        if let path = Self.exactCountPath(ctx.endpoint), let j = await post(path, body),
            let n = UpstreamJSON.count("input_tokens", in: j)
        {
            return n
        }
        var payload = ByteBuffer(string: #"{"content":"#)
        payload.writeBytes(BodySplice.jsonString(utf8: prompt))
        payload.writeString("}")
        if let j = await post("/tokenize", payload), let n = UpstreamJSON.count("tokens", in: j) {
            return n
        }
        logger.debug("exact token count unavailable", metadata: ["profile": "\(profile)"])
        return nil
    }
}
