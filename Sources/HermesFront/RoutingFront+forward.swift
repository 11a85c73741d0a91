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

    /// Tries the decision's target, then what `AttemptPlan` says (burst, fallbacks), until one answers.
    /// Nothing is retried once a byte of an answer has reached the client.
    func forward(_ job: Job, ticket firstTicket: SlotTicket?) async -> Response {
        var queue = [Candidate(profile: job.first)] + job.decision.fallbacks.map { Candidate(profile: $0, reason: "fallback") }
        // Profiles routing passed over (their API, an image) lead the receipt.
        var attempts = job.decision.skipped.map { Attempt(profile: $0.profile, outcome: "skipped_\($0.why.rawValue)", milliseconds: 0) }
        var ends: [AttemptEnd] = []
        var promoted = false
        let toolNames = job.state.config.profiles[job.first]?.promotesBadToolCalls == true
            ? ToolCallCheck.toolNames(inRequest: Data(job.raw.readableBytesView)) : nil
        var reasons = job.decision.hops.map(\.reason.rawValue)
        var reason = job.decision.reason
        var upstreamTime: Duration = .zero
        var burstTried = false
        var reloaded = false
        var ticket = firstTicket
        var index = 0
        var budgetHits: [BudgetHit] = []
        let record = job.record

        while index < queue.count {
            let candidate = queue[index]
            index += 1
            guard let profile = job.state.config.profiles[candidate.profile] else { continue }
            // A burst or fallback added while forwarding (local_error, bad_tool_call) may not take it.
            if let why = job.state.policy.mismatch(profile, job.ctx) {
                attempts.append(Attempt(profile: profile.name, outcome: "skipped_\(why.rawValue)", milliseconds: 0))
                continue
            }
            if let r = candidate.reason {
                reason = r
                reasons.append(r)
            }
            let end: AttemptEnd
            let probe = isHalfOpenProbe(queue, at: index - 1, job: job)
            if probe {
                reason = AttemptPlan.halfOpenReason
                reasons.append(reason)
            }
            switch await prepare(profile, job, probe: probe) {
            case .skip(let kind, let retryAfter, let spent):
                end = AttemptEnd(profile: profile.name, isLocal: profile.isLocal, kind: kind, retryAfter: retryAfter)
                attempts.append(Attempt(profile: profile.name, outcome: end.outcome, milliseconds: 0))
                if let hit = spent {
                    budgetHits.append(hit)
                    // Every cloud choice is spent: back to the local profile the request left, if it can take it.
                    if index == queue.count, let local = BudgetCheck.localRefuge(job.decision.hops),
                        !queue.contains(where: { $0.profile == local })
                    {
                        queue.append(Candidate(profile: local, reason: "budget"))
                    }
                }
            case .send(let url, let headers, let body, let timeout, let warm):
                if ticket?.profile != profile.name {
                    ticket?.release()
                    ticket = holdSlot(profile.name, count: inFlight.add(profile.name))
                }
                let t0 = ContinuousClock.now
                let result = await attempt(url: url, headers: headers, body: body, isLocal: profile.isLocal, timeout: timeout)
                let took = ContinuousClock.now - t0
                upstreamTime += took
                switch result {
                case .answer(let response, let first):
                    // hasPrefix, not Foundation's contains: this runs on every answer.
                    let isSSE = job.ctx.stream
                        || (response.headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream") ?? false)
                    let canPromote = profile.isLocal && !promoted && profile.promotesBadToolCalls
                        && profile.burst.map { job.state.config.profiles[$0] != nil } == true
                    var reading = Self.answerReading(ctx: job.ctx, profile: profile, promote: canPromote, toolNames: toolNames, isSSE: isSSE)
                    reading.dropUsageChunk = job.askUsage != nil
                    let answer: AnswerStream
                    switch await reading.read(response, first: first) {
                    case .deliver(let a):
                        answer = a
                    case .promote(let bad):
                        warmDone(profile.name, warm, cacheN: nil)
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
                                + job.state.policy.fallbackOrder(for: burst).map { Candidate(profile: $0, reason: "fallback") }, at: index)
                        }
                        continue
                    }
                    attempts.append(Attempt(profile: profile.name, outcome: String(response.status), milliseconds: took.milliseconds, halfOpen: probe))
                    if !profile.isLocal { cooldowns.answered(profile.name) }
                    record.update {
                        $0.attempts = attempts
                        $0.profile = profile.name
                        $0.reason = reason
                        $0.reasons = reasons
                        $0.status = response.status
                        $0.price = profile.price
                        $0.burstPrice = profile.isLocal ? profile.burst.flatMap { job.state.config.profiles[$0]?.price } : nil
                        $0.source = job.ctx.sourceKind
                    }
                    return commit(response: response, answer: answer, isSSE: isSSE, profile: profile.name, reason: reason,
                                  attempts: attempts, record: record, upstreamBeforeCommit: upstreamTime, ticket: ticket,
                                  baseHeaders: job.baseHeaders, warm: warm)
                case .failed(let kind, let retryAfter):
                    warmDone(profile.name, warm, cacheN: nil)
                    end = AttemptEnd(profile: profile.name, isLocal: profile.isLocal, kind: kind, retryAfter: retryAfter)
                    attempts.append(Attempt(profile: profile.name, outcome: end.outcome, milliseconds: took.milliseconds, halfOpen: probe))
                    logger.info("upstream failed before the first byte", metadata: [
                        "profile": "\(profile.name)", "outcome": "\(end.outcome)", "request_id": "\(record.id)",
                    ])
                }
            }
            let phaseNow = profile.isLocal ? await runtime.status(ofProfile: profile.name)?.phase : nil
            if AttemptPlan.reloadsAndRetries(after: end, load: profile.llamaServer?.effectiveLoad, phaseNow: phaseNow, alreadyReloaded: reloaded) {
                reloaded = true
                ticket?.release()
                ticket = nil
                if case .ready = await runtime.ensureLoaded(profile: profile.name, wait: true) {
                    queue.insert(Candidate(profile: profile.name), at: index)
                    continue
                }
            }
            ends.append(end)

            // It failed before the first byte: what next is AttemptPlan's decision.
            let step = AttemptPlan.next(after: end, profile: profile, policy: job.state.policy, burstTried: burstTried,
                                        failures: cooldowns.failures(after: end, settings: profile.openai))
            if profile.isLocal {
                ticket?.release()
                ticket = nil
            }
            if step.reportFailure {
                await runtime.reportFailure(profile: profile.name, httpStatus: Int(end.outcome), reason: end.outcome)
            }
            if let first = step.insert.first {
                burstTried = true
                metrics.burst(reason: first.reason ?? BurstReason.localError.rawValue)
                queue.insert(contentsOf: step.insert, at: index)
            }
            if let seconds = step.cooldown {
                cooldowns.set(profile.name, seconds: seconds, rateLimited: end.kind == .status(429))
                metrics.cooldowns(active: cooldowns.active())
            }
            if let why = step.fallbackReason { metrics.fallback(reason: why) }
        }
        ticket?.release()

        // Every candidate failed.
        let giveUp = AttemptPlan.giveUp(ends)
        let list = attempts.map(\.receipt).joined(separator: ",")
        var h = job.baseHeaders
        h[.hermesRoute] = "none"
        h[.hermesReason] = reason
        h[.hermesAttempts] = list
        if let seconds = giveUp.retryAfter { h[.retryAfter] = String(seconds) }
        let overhead = (ContinuousClock.now - record.start) - upstreamTime
        h[.hermesOverhead] = formatMs(overhead.milliseconds)
        record.update {
            $0.attempts = attempts
            $0.reason = reason
            $0.reasons = reasons
            $0.profile = nil
            $0.upstream = upstreamTime
        }
        let message: String
        switch giveUp.status {
        case 429 where !budgetHits.isEmpty: message = Self.budgetMessage(budgetHits, attempts: list)
        case 429: message = "every profile is rate-limited: \(list); retry after \(giveUp.retryAfter.map { "\($0) s" } ?? "a while")"
        case 503: message = "no local server is running for this request and no burst profile could take it: \(list)"
        default: message = "every profile failed: \(list.isEmpty ? "none could be tried" : list)"
        }
        return finishEarly(record, openAIError(status: giveUp.status, message: message, type: giveUp.type, code: giveUp.code, headers: h),
                           overhead: overhead)
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
            return .failed(AttemptEnd.kind(outcome: classify(error)), retryAfter: nil)
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
            return .failed(AttemptEnd.kind(outcome: classify(error)), retryAfter: nil)
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
