import AsyncHTTPClient
import Foundation
import HTTPTypes
import HermesCore
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

extension RoutingFront {
    /// A ticket for a request counted in `profile`'s in-flight (`count` is the count with it).
    func holdSlot(_ profile: String, count: Int) -> SlotTicket {
        metrics.inFlight(profile: profile, count)
        return SlotTicket(profile: profile, counter: inFlight, metrics: metrics)
    }

    /// The client's body with `edits` spliced in; the same buffer when there are none.
    static func body(_ raw: ByteBuffer, edits: [BodyEdit]) -> ByteBuffer {
        guard !edits.isEmpty else { return raw }
        var out = ByteBufferAllocator().buffer(capacity: raw.readableBytes + 64)
        let base = raw.readerIndex
        BodySplice.apply(edits, length: raw.readableBytes,
                         copy: { r in out.writeImmutableBuffer(raw.getSlice(at: base + r.lowerBound, length: r.count) ?? ByteBuffer()) },
                         insert: { out.writeBytes($0) })
        return out
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
        return RequestID.random()
    }

    // MARK: forwarding

    /// What one request carries through its attempts.
    struct Job {
        let ctx: RouteContext
        let decoded: DecodedRequest
        let raw: ByteBuffer
        let decision: RouteDecision
        let first: String
        let state: LoadedConfig
        let record: RequestRecord
        let frontWork: Duration
        let clientHeaders: HTTPFields
        let baseHeaders: HTTPFields
        /// The edit that asks an OpenAI-style stream for its usage chunk (nil: the client asked, or no
        /// stream): sent to every attempt, and its chunk then kept from the client.
        let askUsage: BodyEdit?
    }

    /// Where one attempt goes and what it sends, or why it is skipped.
    enum Prepared {
        case send(url: String, headers: HTTPHeaders, body: ByteBuffer, timeout: Double, warm: WarmPlacement? = nil)
        /// `budget`: the budget that is spent, when that is why (its reset time goes in the 429).
        case skip(AttemptEnd.Kind, retryAfter: Double?, budget: BudgetHit? = nil)
    }

    /// Tries the candidates `AttemptQueue` hands out (the decision's target, burst, fallbacks) until one
    /// answers, performing the effects it returns. Nothing is retried once a byte of an answer has
    /// reached the client.
    func forward(_ job: Job, ticket firstTicket: SlotTicket?) async -> Response {
        var queue = AttemptQueue(decision: job.decision, first: job.first)
        let policy = job.state.policy
        // Only the tools are read again, and only for a profile that judges tool calls.
        var toolNames: Set<String>?
        if job.state.config.profiles[job.first]?.promotesBadToolCalls == true {
            let offered = job.raw.withUnsafeReadableBytes { RequestDecoder.toolNames(in: $0, spans: job.decoded.toolSpans) }
            toolNames = offered.isEmpty ? nil : offered
        }
        var upstreamTime: Duration = .zero
        var ticket = firstTicket
        let record = job.record

        while let candidate = queue.next() {
            guard let profile = job.state.config.profiles[candidate.profile] else { continue }
            // A burst or fallback added while forwarding (local_error, bad_tool_call) may not take it.
            if let why = policy.mismatch(profile, job.ctx) {
                queue.skip(profile.name, why: why)
                continue
            }
            queue.start(candidate)
            let probe = isHalfOpenProbe(queue.remaining, job: job)
            if probe { queue.markHalfOpen() }
            let end: AttemptEnd, sent: Bool, spent: BudgetHit?
            var took: Duration = .zero
            switch await prepare(profile, job, probe: probe) {
            case .skip(let kind, let retryAfter, let hit):
                end = AttemptEnd(profile: profile.name, isLocal: profile.isLocal, kind: kind, retryAfter: retryAfter)
                (sent, spent) = (false, hit)
            case .send(let url, let headers, let body, let timeout, let warm):
                if ticket?.profile != profile.name {
                    ticket?.release()
                    ticket = holdSlot(profile.name, count: inFlight.add(profile.name))
                }
                let t0 = ContinuousClock.now
                let result = await attempt(url: url, headers: headers, body: body, isLocal: profile.isLocal, timeout: timeout)
                took = ContinuousClock.now - t0
                upstreamTime += took
                switch result {
                case .answer(let response, let first):
                    // hasPrefix, not Foundation's contains: this runs on every answer.
                    let isSSE = job.ctx.stream
                        || (response.headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream") ?? false)
                    let canPromote = profile.isLocal && !queue.promoted && profile.promotesBadToolCalls
                        && profile.burst.map { job.state.config.profiles[$0] != nil } == true
                    var reading = Self.answerReading(ctx: job.ctx, profile: profile, promote: canPromote, toolNames: toolNames, isSSE: isSSE)
                    reading.dropUsageChunk = job.askUsage != nil
                    switch await reading.read(response, first: first) {
                    case .deliver(let answer):
                        queue.answered(profile.name, status: response.status, milliseconds: took.milliseconds, halfOpen: probe)
                        if !profile.isLocal { cooldowns.answered(profile.name) }
                        record.update {
                            $0.attempts = queue.tries
                            $0.profile = profile.name
                            $0.reason = queue.reason
                            $0.reasons = queue.reasons
                            $0.status = response.status
                            $0.price = profile.price
                            $0.burstPrice = profile.isLocal ? profile.burst.flatMap { job.state.config.profiles[$0]?.price } : nil
                            $0.source = job.ctx.sourceKind
                        }
                        return commit(response: response, answer: answer, isSSE: isSSE, profile: profile.name, reason: queue.reason,
                                      attempts: queue.tries, record: record, upstreamBeforeCommit: upstreamTime, ticket: ticket,
                                      baseHeaders: job.baseHeaders, warm: warm)
                    case .promote(let bad):
                        warmDone(profile.name, warm, cacheN: nil)
                        // Nothing has reached the client: the burst profile gets the request, once.
                        let read = ContinuousClock.now - t0
                        upstreamTime += read - took
                        logger.info("local answer has a bad tool call: promoted", metadata: [
                            "profile": "\(profile.name)", "problem": "\(bad.problem.rawValue)", "request_id": "\(record.id)",
                        ])
                        await perform(queue.promote(profile, policy: policy, milliseconds: read.milliseconds), ticket: &ticket)
                        continue
                    }
                case .failed(let kind, let retryAfter):
                    warmDone(profile.name, warm, cacheN: nil)
                    end = AttemptEnd(profile: profile.name, isLocal: profile.isLocal, kind: kind, retryAfter: retryAfter)
                    (sent, spent) = (true, nil)
                    logger.info("upstream failed before the first byte", metadata: [
                        "profile": "\(profile.name)", "outcome": "\(end.outcome)", "request_id": "\(record.id)",
                    ])
                }
            }
            // An on-demand server stopped under this request: load it again and send the request there once more.
            // Only an on-demand server's phase is asked for: no other profile is ever reloaded here.
            let load = profile.llamaServer?.effectiveLoad
            let phaseNow = load == .onDemand ? await runtime.status(ofProfile: profile.name)?.phase : nil
            if queue.reloads(after: end, load: load, phaseNow: phaseNow) {
                ticket?.release()
                ticket = nil
                if case .ready = await runtime.ensureLoaded(profile: profile.name, wait: true) {
                    queue.retryAfterReload(end, milliseconds: took.milliseconds)
                    continue
                }
            }
            // It failed before the first byte: what next is the queue's decision.
            let effects = queue.failed(end, profile: profile, policy: policy, sent: sent, milliseconds: took.milliseconds, halfOpen: probe,
                                       failures: cooldowns.failures(after: end, settings: profile.openai), budget: spent)
            await perform(effects, ticket: &ticket)
        }
        ticket?.release()

        // Every candidate failed.
        let giveUp = queue.giveUp
        let list = queue.receipt
        var h = job.baseHeaders
        h[.hermesRoute] = "none"
        h[.hermesReason] = queue.reason
        h[.hermesAttempts] = list
        if let seconds = giveUp.retryAfter { h[.retryAfter] = String(seconds) }
        let overhead = (ContinuousClock.now - record.start) - upstreamTime
        h[.hermesOverhead] = formatMs(overhead.milliseconds)
        record.update {
            $0.attempts = queue.tries
            $0.reason = queue.reason
            $0.reasons = queue.reasons
            $0.profile = nil
            $0.upstream = upstreamTime
        }
        let message: String
        switch giveUp.status {
        case 429 where !queue.budgetHits.isEmpty: message = Self.budgetMessage(queue.budgetHits, attempts: list)
        case 429: message = "every profile is rate-limited: \(list); retry after \(giveUp.retryAfter.map { "\($0) s" } ?? "a while")"
        case 503: message = "no local server is running for this request and no burst profile could take it: \(list)"
        default: message = "every profile failed: \(list.isEmpty ? "none could be tried" : list)"
        }
        return finishEarly(record, openAIError(status: giveUp.status, message: message, type: giveUp.type, code: giveUp.code, headers: h),
                           overhead: overhead)
    }

    /// Carries out what `AttemptQueue` decided after a try.
    func perform(_ effects: [AttemptQueue.Effect], ticket: inout SlotTicket?) async {
        for effect in effects {
            switch effect {
            case .releaseLocalSlot:
                ticket?.release()
                ticket = nil
            case .reportFailure(let profile, let status, let reason):
                await runtime.reportFailure(profile: profile, httpStatus: status, reason: reason)
            case .countBurst(let reason):
                metrics.burst(reason: reason)
            case .coolDown(let profile, let seconds, let rateLimited):
                cooldowns.set(profile, seconds: seconds, rateLimited: rateLimited)
                metrics.cooldowns(active: cooldowns.active())
            case .countFallback(let reason):
                metrics.fallback(reason: reason)
            }
        }
    }

    /// The URL, headers and body for `profile`, or why it cannot be tried now.
    func prepare(_ profile: Profile, _ job: Job, probe: Bool = false) async -> Prepared {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "accept", value: job.clientHeaders[.accept] ?? (job.ctx.stream ? "text/event-stream" : "application/json"))
        headers.add(name: "x-request-id", value: job.record.id)
        if profile.isLocal {
            let status = await runtime.status(ofProfile: profile.name)
            guard let status, BurstCheck.isServing(status), let base = status.baseURL else { return .skip(.down, retryAfter: nil) }
            let clamp = profile.name == job.first ? job.decision.maxTokens
                : BurstCheck.clampedMaxTokens(job.ctx.maxTokens, promptTokens: job.decision.promptTokens, slotContext: status.contextPerSlot)
            let warm = await placeWarm(profile, job, status: status, base: base)
            let edits = BodySplice.edits(for: job.decoded, clampTokens: clamp) + (warm.map { Self.slotEdit(job.decoded, slot: $0.slot) } ?? [])
            let body = Self.body(job.raw, edits: Self.adding(job.askUsage, to: edits))
            return .send(url: base + "/v1" + job.decoded.endpoint.pathSuffix, headers: headers, body: body, timeout: options.localFirstByteTimeout,
                         warm: warm)
        }
        guard let remote = profile.openai, let base = remote.baseURL else { return .skip(.error, retryAfter: nil) }
        if !probe, let c = cooldowns.cooling(profile.name) { return .skip(.cooldown(rateLimited: c.rateLimited), retryAfter: c.seconds) }
        if let hit = budgetVerdict(profile, source: job.ctx.sourceKind, budgets: job.state.config.runtime.budgets)?.over {
            return .skip(.overBudget, retryAfter: max(1, hit.resetsAt.timeIntervalSinceNow), budget: hit)
        }
        let edits = remote.model.map { BodySplice.edits(for: job.decoded, model: $0) } ?? []
        let body = Self.body(job.raw, edits: Self.adding(job.askUsage, to: edits))
        if job.ctx.api == .messages {
            Self.addAnthropicHeaders(&headers, key: job.state.remoteKeys[profile.name], client: job.clientHeaders)
        } else if let key = job.state.remoteKeys[profile.name] {
            headers.add(name: "authorization", value: "Bearer \(key)")
        }
        for (k, v) in (remote.headers ?? [:]).sorted(by: { $0.key < $1.key }) { headers.replaceOrAdd(name: k, value: v) }
        return .send(url: base + job.decoded.endpoint.pathSuffix, headers: headers, body: body, timeout: remote.effectiveTimeout)
    }

    enum AttemptResult {
        /// Pass this answer on; `first` is its first body chunk when it was waited for.
        case answer(UpstreamResponse, first: UpstreamBody.FirstChunk)
        case failed(AttemptEnd.Kind, retryAfter: Double?)
    }

    /// One try: the head, then (for an answer to pass on) the first body byte, before anything is
    /// committed to the client.
    func attempt(url: String, headers: HTTPHeaders, body: ByteBuffer, isLocal: Bool, timeout: Double) async -> AttemptResult {
        let response: UpstreamResponse
        do {
            response = try await send(url: url, headers: headers, body: body, isLocal: isLocal, timeout: timeout)
        } catch {
            return .failed(failureKind(error), retryAfter: nil)
        }
        guard UpstreamPolicy.verdict(status: response.status, isLocal: isLocal) == .deliver else {
            let retryAfter = UpstreamPolicy.retryAfter(response.headers.first(name: "retry-after"))
            // Read the little error body so the connection goes back to the pool.
            _ = try? await response.body.collect(upTo: 64 << 10)
            return .failed(.status(response.status), retryAfter: retryAfter)
        }
        do {
            return .answer(response, first: try await response.body.firstChunk())
        } catch {
            return .failed(failureKind(error), retryAfter: nil)
        }
    }

    /// One try at one upstream: this front's own client for `http://` (every local server), AsyncHTTPClient
    /// for `https://` remotes. Returns once the answer's head is in; throws when none came.
    func send(url: String, method: HTTPMethod = .POST, headers: HTTPHeaders, body: ByteBuffer?, isLocal: Bool,
              timeout: Double) async throws -> UpstreamResponse
    {
        if let (target, path) = UpstreamClient.parse(url) {
            return try await upstream.send(target, method: method, path: path, headers: headers, body: body,
                                           connectTimeout: .safeSeconds(isLocal ? options.localConnectTimeout : options.connectTimeout),
                                           firstByteTimeout: .safeSeconds(timeout))
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        if let body { request.body = .bytes(body) }
        let response = try await client.execute(request, timeout: .safeSeconds(timeout))
        return UpstreamResponse(status: Int(response.status.code), headers: response.headers, body: UpstreamBody(response.body))
    }
}
