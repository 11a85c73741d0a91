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

/// What is known about one request from arrival to the end of its answer; becomes the JSONL event.
final class RequestRecord: Sendable {
    struct Fields: Sendable {
        var endpoint = ""
        var profile: String?
        var selectedBy: String?
        var rule: String?
        var reason = ""
        var reasons: [String] = []
        var attempts: [Attempt] = []
        var status = 0
        var stream = false
        var promptTokensEstimate = 0
        var promptTokensExact: Int?
        var promptSHA256: String?
        var promptChars = 0
        var bytesOut = 0
        var upstream: Duration = .zero
        var overhead: Duration = .zero
        var firstByte: Duration?
        var cut: String?
        var error: String?
    }

    let id: String
    let start: ContinuousClock.Instant
    let wallClock: Date
    let fields = Mutex(Fields())
    /// Set once the event is written, so a request is never logged twice.
    let written = Mutex(false)

    init(id: String) {
        self.id = id
        self.start = .now
        self.wallClock = Date()
    }

    func update(_ body: (inout Fields) -> Void) { fields.withLock { body(&$0) } }
    var snapshot: Fields { fields.withLock { $0 } }
}

/// A slot (or plain in-flight count) held for a profile until the answer is done; released at most once,
/// and by `deinit` if a response body is dropped without ever being written.
final class SlotTicket: Sendable {
    let profile: String
    let counter: InFlight
    let metrics: FrontMetrics
    let released = Mutex(false)

    init(profile: String, counter: InFlight, metrics: FrontMetrics) {
        self.profile = profile
        self.counter = counter
        self.metrics = metrics
    }

    func release() {
        let first = released.withLock { r in
            defer { r = true }
            return !r
        }
        if first { metrics.inFlight(profile: profile, counter.release(profile)) }
    }

    deinit { release() }
}

extension RoutingFront {
    static let maxDecisionRounds = 8

    /// `POST /v1/chat/completions`, `/v1/completions`, `/v1/embeddings`.
    func handleRouted(_ endpoint: RoutedEndpoint, request: Request) async -> Response {
        let record = RequestRecord(id: Self.requestID(request))
        record.update { $0.endpoint = endpoint.rawValue }
        let state = current
        var baseHeaders = HTTPFields()
        baseHeaders[.requestID] = record.id

        guard state.authorized(Self.clientCredential(request.headers)) else {
            return finishEarly(record, openAIError(status: 401, message: "missing or wrong bearer key for the front",
                                                   type: "authentication_error", code: "invalid_api_key", headers: baseHeaders))
        }

        // Body: size limit, JSON, context.
        var req = request
        let buffer: ByteBuffer
        do {
            buffer = try await req.collectBody(upTo: state.config.runtime.front.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            return finishEarly(record, openAIError(status: 413, message: "the request body is over the front's limit of \(state.config.runtime.front.maxBodyBytes) bytes (front.max_body)",
                                                   code: "body_too_large", headers: baseHeaders))
        } catch {
            return finishEarly(record, openAIError(status: 400, message: "could not read the request body", code: "unreadable_body", headers: baseHeaders))
        }
        let bodyData = Data(buffer.readableBytesView)
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: bodyData)
        } catch {
            return finishEarly(record, openAIError(status: 400, message: "the request body is not valid JSON", code: "invalid_json", headers: baseHeaders))
        }
        var headerMap: [String: String] = [:]
        for name in [RouteContext.Header.profile, RouteContext.Header.platform, RouteContext.Header.source,
                     RouteContext.Header.toolsets, RouteContext.Header.goal]
        {
            if let v = request.headers[HTTPField.Name(name)!] { headerMap[name] = v }
        }
        let ctx: RouteContext
        do {
            ctx = try RouteContext(endpoint: endpoint, headers: headerMap, body: parsed, bodyBytes: bodyData.count)
        } catch let e as RequestError {
            return finishEarly(record, openAIError(status: e.status, message: e.message, type: e.type, code: e.code, headers: baseHeaders))
        } catch {
            return finishEarly(record, openAIError(status: 400, message: "bad request", code: "bad_request", headers: baseHeaders))
        }
        record.update {
            $0.stream = ctx.stream
            $0.promptTokensEstimate = ctx.estimatedPromptTokens
            $0.promptChars = ctx.promptText.count
            $0.promptSHA256 = SHA256.hex(ctx.promptText)
        }

        // Decide, finding out what the decision asks for (an exact count, a free slot) in between.
        var snapshot = RuntimeSnapshot()
        for name in state.localProfiles {
            if let s = await runtime.status(ofProfile: name) { snapshot.statuses[name] = s }
        }
        snapshot.inFlight = inFlight.snapshot()
        var decision: RouteDecision
        var ticket: SlotTicket?
        var frontWork: Duration = .zero
        var round = 0
        while true {
            round += 1
            do {
                decision = try state.policy.decide(ctx, snapshot: snapshot, explain: false)
            } catch let e as RequestError {
                return finishEarly(record, openAIError(status: e.status, message: e.message, type: e.type, code: e.code, headers: baseHeaders))
            } catch {
                return finishEarly(record, openAIError(status: 500, message: "routing failed", code: "routing_failed", headers: baseHeaders))
            }
            record.update {
                $0.selectedBy = decision.selection.reason
                $0.rule = decision.matchedRule
                $0.reason = decision.reason
                $0.profile = decision.target
            }
            if round > Self.maxDecisionRounds { break }
            switch decision.outcome {
            case .needsExactCount(let profile):
                let t0 = ContinuousClock.now
                let exact = await countTokens(profile: profile, status: snapshot.statuses[profile], ctx: ctx, body: buffer)
                frontWork += ContinuousClock.now - t0
                // A server that cannot count has the estimate taken as its count: deciding must end.
                snapshot.exactPromptTokens[profile] = exact ?? ctx.estimatedPromptTokens
                record.update { $0.promptTokensExact = exact }
                continue
            case .needsSlot(let profile, let wait):
                let limit = slotLimit(profile, state: state, status: snapshot.statuses[profile])
                if await inFlight.acquire(profile, limit: limit, within: wait) {
                    ticket = holdSlot(profile, count: inFlight.count(profile))
                    // Decide again as if this request's own slot were still free.
                    snapshot.inFlight[profile] = max(0, inFlight.count(profile) - 1)
                } else {
                    snapshot.waitedForSlot.insert(profile)
                    snapshot.inFlight[profile] = inFlight.count(profile)
                }
                continue
            case .forward(let profile) where state.config.profiles[profile]?.isLocal == true && ticket?.profile != profile:
                ticket?.release()
                ticket = nil
                let limit = slotLimit(profile, state: state, status: snapshot.statuses[profile])
                if inFlight.tryAcquire(profile, limit: limit) {
                    ticket = holdSlot(profile, count: inFlight.count(profile))
                    break
                }
                if state.config.profiles[profile]?.burst == nil {
                    // Nowhere to burst: the server queues it.
                    ticket = holdSlot(profile, count: inFlight.add(profile))
                    break
                }
                // Another request took the last slot between the snapshot and now.
                snapshot.inFlight[profile] = inFlight.count(profile)
                continue
            default:
                if let t = ticket, t.profile != decision.target { t.release(); ticket = nil }
            }
            break
        }
        for hop in decision.hops { metrics.burst(reason: hop.reason.rawValue) }
        record.update { r in r.reasons = decision.hops.map(\.reason.rawValue) }

        switch decision.outcome {
        case .confirm(let reason):
            var h = baseHeaders
            h[.hermesRoute] = "none"
            h[.hermesReason] = decision.reason
            h[.hermesAttempts] = ""
            h[.hermesOverhead] = formatMs((ContinuousClock.now - record.start).milliseconds)
            return finishEarly(record, openAIError(status: 409, message: reason, type: "confirmation_required", code: "confirm", headers: h))
        case .unavailable(let profile, let reason) where reason == .api || reason == .vision:
            let (status, code, message) = Self.cannotTake(reason, profile: profile, api: ctx.api)
            var h = baseHeaders
            h[.hermesRoute] = "none"
            h[.hermesReason] = reason.rawValue
            h[.hermesAttempts] = decision.skipped.map(\.receipt).joined(separator: ",")
            h[.hermesOverhead] = formatMs((ContinuousClock.now - record.start).milliseconds)
            return finishEarly(record, openAIError(status: status, message: message, code: code, headers: h))
        case .unavailable(let profile, let reason):
            var h = baseHeaders
            h[.hermesRoute] = "none"
            h[.hermesReason] = reason.rawValue
            h[.hermesAttempts] = (["\(profile):down"] + decision.skipped.map(\.receipt)).joined(separator: ",")
            h[.hermesOverhead] = formatMs((ContinuousClock.now - record.start).milliseconds)
            record.update { $0.attempts = [Attempt(profile: profile, outcome: "down", milliseconds: 0)] }
            return finishEarly(record, openAIError(status: 503, message: "profile \(profile) is not running and has no burst profile", type: "server_error", code: "local_down", headers: h))
        case .forward(let profile):
            return await forward(ctx: ctx, endpoint: endpoint, parsed: parsed, raw: buffer, decision: decision, first: profile,
                                 ticket: ticket, state: state, record: record, frontWork: frontWork, clientHeaders: request.headers,
                                 baseHeaders: baseHeaders)
        case .needsExactCount, .needsSlot:
            return finishEarly(record, openAIError(status: 500, message: "routing did not settle", code: "routing_failed", headers: baseHeaders))
        }
    }

    /// A ticket for a request counted in `profile`'s in-flight (`count` is the count with it).
    func holdSlot(_ profile: String, count: Int) -> SlotTicket {
        metrics.inFlight(profile: profile, count)
        return SlotTicket(profile: profile, counter: inFlight, metrics: metrics)
    }

    /// The client's JSON body with top-level `fields` replaced, re-serialized; the raw bytes if it
    /// is not an object or cannot be written.
    static func body(_ raw: ByteBuffer, parsed: Any, replacing fields: [String: Any]) -> ByteBuffer {
        guard var object = parsed as? [String: Any] else { return raw }
        object.merge(fields) { _, new in new }
        guard let data = try? JSONSerialization.data(withJSONObject: object) else { return raw }
        return ByteBuffer(bytes: data)
    }

    func slotLimit(_ profile: String, state: LoadedConfig, status: LocalRuntimeStatus?) -> Int {
        guard let s = state.config.profiles[profile]?.llamaServer else { return Int.max }
        return BurstCheck.slotCount(settings: s, status: status)
    }

    static func requestID(_ request: Request) -> String {
        if let given = request.headers[.requestID], !given.isEmpty, given.utf8.count <= 128,
            given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        {
            return given
        }
        return UUID().uuidString.lowercased()
    }

    // MARK: forwarding

    /// One candidate in the attempt order.
    struct Candidate {
        var profile: String
        /// Why this candidate is tried (nil for the decision's own target).
        var reason: String?
    }

    func forward(ctx: RouteContext, endpoint: RoutedEndpoint, parsed: Any, raw: ByteBuffer, decision: RouteDecision,
                 first: String, ticket firstTicket: SlotTicket?, state: LoadedConfig, record: RequestRecord,
                 frontWork: Duration, clientHeaders: HTTPFields, baseHeaders: HTTPFields) async -> Response
    {
        var queue: [Candidate] = [Candidate(profile: first, reason: nil)] + decision.fallbacks.map { Candidate(profile: $0, reason: "fallback") }
        // Profiles routing passed over (their API, an image) lead the receipt.
        var attempts = decision.skipped.map { Attempt(profile: $0.profile, outcome: "skipped_\($0.why.rawValue)", milliseconds: 0) }
        var reasons = decision.hops.map(\.reason.rawValue)
        var promoted = false
        let toolNames = state.config.profiles[first]?.promotesBadToolCalls == true ? ToolCallCheck.toolNames(inRequest: Data(raw.readableBytesView)) : nil
        var reason = decision.reason
        var upstreamTime: Duration = .zero
        var localRetried = false
        var ticket = firstTicket
        var index = 0

        while index < queue.count {
            let candidate = queue[index]
            index += 1
            guard let profile = state.config.profiles[candidate.profile] else { continue }
            // A burst or fallback added while forwarding (local_error, bad_tool_call) may not take it.
            if let why = state.policy.mismatch(profile, ctx) {
                attempts.append(Attempt(profile: profile.name, outcome: "skipped_\(why.rawValue)", milliseconds: 0))
                continue
            }
            let isLocal = profile.isLocal
            if let r = candidate.reason {
                reason = r
                reasons.append(r)
            }

            // Where to send it, and the body it gets.
            var url: String
            var body = raw
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "accept", value: clientHeaders[.accept] ?? (ctx.stream ? "text/event-stream" : "application/json"))
            headers.add(name: "x-request-id", value: record.id)
            var timeout = options.localFirstByteTimeout
            if profile.isLocal {
                let status = await runtime.status(ofProfile: profile.name)
                guard let status, status.isReady, let base = status.baseURL else {
                    attempts.append(Attempt(profile: profile.name, outcome: "down", milliseconds: 0))
                    continue
                }
                url = base + "/v1" + endpoint.pathSuffix
                let clamp = profile.name == first ? decision.maxTokens
                    : BurstCheck.clampedMaxTokens(ctx.maxTokens, promptTokens: decision.promptTokens, slotContext: status.contextPerSlot)
                if let clamp {
                    var fields: [String: Any] = ["max_tokens": clamp]
                    if (parsed as? [String: Any])?["max_completion_tokens"] != nil { fields["max_completion_tokens"] = clamp }
                    body = Self.body(raw, parsed: parsed, replacing: fields)
                }
            } else if let remote = profile.openai, let base = remote.baseURL {
                if cooldowns.isCooling(profile.name) {
                    attempts.append(Attempt(profile: profile.name, outcome: "cooldown", milliseconds: 0))
                    metrics.fallback(reason: "cooldown")
                    continue
                }
                url = base + endpoint.pathSuffix
                timeout = remote.effectiveTimeout
                if let model = remote.model { body = Self.body(raw, parsed: parsed, replacing: ["model": model]) }
                if ctx.api == .messages {
                    Self.addAnthropicHeaders(&headers, key: state.remoteKeys[profile.name], client: clientHeaders)
                } else if let key = state.remoteKeys[profile.name] {
                    headers.add(name: "authorization", value: "Bearer \(key)")
                }
                for (k, v) in (remote.headers ?? [:]).sorted(by: { $0.key < $1.key }) { headers.replaceOrAdd(name: k, value: v) }
            } else {
                continue
            }
            if ticket?.profile != profile.name {
                ticket?.release()
                ticket = holdSlot(profile.name, count: inFlight.add(profile.name))
            }

            let t0 = ContinuousClock.now
            var failure: String
            var failedStatus: Int?
            var retryAfter: Double?
            do {
                let response = try await send(url: url, headers: headers, body: body, isLocal: isLocal, timeout: timeout)
                let took = ContinuousClock.now - t0
                upstreamTime += took
                let code = response.status
                if UpstreamPolicy.verdict(status: code, isLocal: isLocal) == .deliver {
                    // hasPrefix, not Foundation's contains: this runs on every answer.
                    let isSSE = ctx.stream || (response.headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream") ?? false)
                    let canPromote = isLocal && !promoted && profile.promotesBadToolCalls
                        && profile.burst.map { state.config.profiles[$0] != nil } == true
                    let reading = Self.answerReading(ctx: ctx, profile: profile, promote: canPromote, toolNames: toolNames, isSSE: isSSE)
                    let answer: AnswerStream
                    switch await reading.read(response) {
                    case .deliver(let a):
                        answer = a
                    case .promote(let bad):
                        // Nothing has reached the client: the burst profile gets the request, once.
                        let read = ContinuousClock.now - t0
                        upstreamTime += read - took
                        attempts.append(Attempt(profile: profile.name, outcome: BurstReason.badToolCall.rawValue, milliseconds: read.milliseconds))
                        logger.info("local answer has a bad tool call: promoted", metadata: [
                            "profile": "\(profile.name)", "problem": "\(bad.problem.rawValue)", "request_id": "\(record.id)",
                        ])
                        promoted = true
                        ticket?.release()
                        ticket = nil
                        metrics.burst(reason: BurstReason.badToolCall.rawValue)
                        if let burst = profile.burst {
                            queue.insert(contentsOf: [Candidate(profile: burst, reason: BurstReason.badToolCall.rawValue)]
                                + state.policy.fallbackOrder(for: burst).map { Candidate(profile: $0, reason: "fallback") }, at: index)
                        }
                        continue
                    }
                    attempts.append(Attempt(profile: profile.name, outcome: String(code), milliseconds: took.milliseconds))
                    record.update {
                        $0.attempts = attempts
                        $0.profile = profile.name
                        $0.reason = reason
                        $0.reasons = reasons
                        $0.status = code
                    }
                    return commit(response: response, answer: answer, isSSE: isSSE, profile: profile.name, reason: reason,
                                  attempts: attempts, record: record, upstreamBeforeCommit: upstreamTime, frontWork: frontWork,
                                  ticket: ticket, baseHeaders: baseHeaders)
                }
                failedStatus = code
                failure = String(code)
                retryAfter = UpstreamPolicy.retryAfter(response.headers.first(name: "retry-after"))
                // Read the little error body so the connection goes back to the pool.
                _ = try? await response.body.collect(upTo: 64 << 10)
                attempts.append(Attempt(profile: profile.name, outcome: failure, milliseconds: took.milliseconds))
            } catch {
                let took = ContinuousClock.now - t0
                upstreamTime += took
                failure = classify(error)
                attempts.append(Attempt(profile: profile.name, outcome: failure, milliseconds: took.milliseconds))
                logger.debug("upstream attempt failed", metadata: ["profile": "\(profile.name)", "outcome": "\(failure)",
                                                                     "request_id": "\(record.id)"])
            }

            // It failed before the first byte: decide what comes next.
            logger.info("upstream failed before the first byte", metadata: [
                "profile": "\(profile.name)", "outcome": "\(failure)", "request_id": "\(record.id)",
            ])
            if isLocal {
                ticket?.release()
                ticket = nil
                await runtime.reportFailure(profile: profile.name, httpStatus: failedStatus, reason: failure)
                if !localRetried, let burst = profile.burst, state.config.profiles[burst] != nil {
                    localRetried = true
                    metrics.burst(reason: BurstReason.localError.rawValue)
                    let rest = state.policy.fallbackOrder(for: burst)
                    queue.insert(contentsOf: [Candidate(profile: burst, reason: BurstReason.localError.rawValue)]
                        + rest.map { Candidate(profile: $0, reason: "fallback") }, at: index)
                }
            } else if let remote = profile.openai {
                let seconds = UpstreamPolicy.cooldown(retryAfter: failedStatus == 429 ? retryAfter : nil, settings: remote)
                cooldowns.set(profile.name, seconds: seconds)
                metrics.cooldowns(active: cooldowns.active())
                metrics.fallback(reason: failedStatus == 429 ? "rate_limited" : (failedStatus != nil ? "status_5xx" : failure))
            }
        }
        ticket?.release()

        // Every candidate failed.
        let list = attempts.map(\.receipt).joined(separator: ",")
        var h = baseHeaders
        h[.hermesRoute] = "none"
        h[.hermesReason] = reason
        h[.hermesAttempts] = list
        let overhead = (ContinuousClock.now - record.start) - upstreamTime
        h[.hermesOverhead] = formatMs(overhead.milliseconds)
        record.update {
            $0.attempts = attempts
            $0.reason = reason
            $0.reasons = reasons
            $0.profile = nil
            $0.upstream = upstreamTime
        }
        return finishEarly(record, openAIError(status: 502, message: "every profile failed: \(list.isEmpty ? "none could be tried" : list)",
                                               type: "upstream_error", code: "all_upstreams_failed", headers: h), overhead: overhead)
    }

    /// The answer is going out: status and headers now, the body chunk by chunk as the upstream sends it.
    func commit(response: UpstreamResponse, answer: AnswerStream, isSSE: Bool, profile: String, reason: String,
                attempts: [Attempt], record: RequestRecord, upstreamBeforeCommit: Duration, frontWork: Duration,
                ticket: SlotTicket?, baseHeaders: HTTPFields) -> Response
    {
        var headers = baseHeaders
        for h in response.headers where !hopByHop.contains(h.name.lowercased()) {
            if let name = HTTPField.Name(h.name) { headers.append(HTTPField(name: name, value: h.value)) }
        }
        let overhead = (ContinuousClock.now - record.start) - upstreamBeforeCommit
        headers[.hermesRoute] = profile
        headers[.hermesReason] = reason
        headers[.hermesAttempts] = attempts.map(\.receipt).joined(separator: ",")
        headers[.hermesOverhead] = formatMs(overhead.milliseconds)
        record.update { $0.overhead = overhead }
        let front = self
        // Read now: the body is written after the handler returned, outside its task-local values.
        let shape = ErrorShape.current
        let responseBody = ResponseBody(contentLength: isSSE ? nil : answer.contentLength) { writer in
            var bytes = 0
            var firstByte: Duration?
            var cut: String?
            let iterator = answer
            defer { ticket?.release() }
            while true {
                let chunk: ByteBuffer?
                do {
                    chunk = try await iterator.next()
                } catch {
                    cut = classify(error)
                    break
                }
                guard let chunk else { break }
                if firstByte == nil { firstByte = ContinuousClock.now - record.start }
                bytes += chunk.readableBytes
                do {
                    try await writer.write(chunk)
                } catch {
                    // The client went away: nothing left to deliver.
                    record.update { $0.bytesOut = bytes; $0.firstByte = firstByte; $0.cut = "client_gone" }
                    ticket?.release()
                    front.writeEvent(record)
                    throw error
                }
            }
            record.update { $0.bytesOut = bytes; $0.firstByte = firstByte; $0.cut = cut }
            if let cut {
                front.logger.warning("upstream stream cut", metadata: ["profile": "\(profile)", "outcome": "\(cut)",
                                                                        "request_id": "\(record.id)"])
                ticket?.release()
                if isSSE {
                    // The blank lines end any half-written event so the error event parses on its own.
                    let message = "the upstream (\(profile)) cut the stream (\(cut)) after \(bytes) bytes; not retried after the first byte"
                    var out: ByteBuffer
                    if shape == .anthropic {
                        // Anthropic's clients read an `error` event and stop; they know no `[DONE]`.
                        out = ByteBuffer(string: "\n\nevent: error\ndata: ")
                        var body = anthropicErrorBody(status: 502, message: message, code: "stream_cut")
                        out.writeBuffer(&body)
                        out.writeString("\n\n")
                    } else {
                        let object: [String: Any] = ["error": ["message": message, "type": "upstream_error", "code": "stream_cut"]]
                        let json = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
                        out = ByteBuffer(string: "\n\ndata: ")
                        out.writeBytes(json)
                        out.writeString("\n\ndata: [DONE]\n\n")
                    }
                    try? await writer.write(out)
                    try? await writer.finish(nil)
                    front.writeEvent(record)
                    return
                }
                front.writeEvent(record)
                // A plain JSON answer cut short cannot be repaired: close the connection so the client sees it.
                throw HTTPError(.badGateway)
            }
            ticket?.release()
            front.writeEvent(record)
            try await writer.finish(nil)
        }
        return Response(status: .init(code: response.status), headers: headers, body: responseBody)
    }

    /// One try at one upstream: this front's own client for `http://` (every local server), AsyncHTTPClient
    /// for `https://` remotes. Returns once the answer's head is in; throws when none came.
    func send(url: String, method: HTTPMethod = .POST, headers: HTTPHeaders, body: ByteBuffer?, isLocal: Bool,
              timeout: Double) async throws -> UpstreamResponse
    {
        if let (target, path) = UpstreamClient.parse(url) {
            return try await upstream.send(target, method: method, path: path, headers: headers, body: body,
                                           connectTimeout: .milliseconds(Int64((isLocal ? options.localConnectTimeout : options.connectTimeout) * 1000)),
                                           firstByteTimeout: .milliseconds(Int64(timeout * 1000)))
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        if let body { request.body = .bytes(body) }
        let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        return UpstreamResponse(status: Int(response.status.code), headers: response.headers, body: UpstreamBody(response.body))
    }

    /// Answers without forwarding (auth, bad input, confirm, unavailable, all failed) and writes the event.
    func finishEarly(_ record: RequestRecord, _ response: Response, overhead: Duration? = nil) -> Response {
        let status = Int(response.status.code)
        record.update {
            $0.status = status
            $0.overhead = overhead ?? (ContinuousClock.now - record.start)
            if status >= 400, $0.error == nil { $0.error = "\(status)" }
        }
        writeEvent(record)
        var r = response
        if r.headers[.requestID] == nil { r.headers[.requestID] = record.id }
        return r
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
    func countTokens(profile: String, status: LocalRuntimeStatus?, ctx: RouteContext, body: ByteBuffer) async -> Int? {
        guard let base = status?.baseURL else { return nil }
        func post(_ path: String, _ payload: ByteBuffer) async -> [String: Any]? {
            guard let resp = try? await send(url: base + path, headers: ["content-type": "application/json"], body: payload,
                                             isLocal: true, timeout: options.tokenCountTimeout),
                let buf = try? await resp.body.collect(upTo: 64 << 20), resp.status == 200
            else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(buf.readableBytesView))) as? [String: Any]
        }
        if let path = Self.exactCountPath(ctx.endpoint), let j = await post(path, body),
            let n = j["input_tokens"] as? Int
        {
            return n
        }
        let payload = (try? JSONSerialization.data(withJSONObject: ["content": ctx.promptText])) ?? Data()
        if let j = await post("/tokenize", ByteBuffer(bytes: payload)), let tokens = j["tokens"] as? [Any] {
            return tokens.count
        }
        logger.debug("exact token count unavailable", metadata: ["profile": "\(profile)"])
        return nil
    }
}

