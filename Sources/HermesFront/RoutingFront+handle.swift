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
        let decoded: DecodedRequest
        do {
            decoded = try buffer.withUnsafeReadableBytes { raw throws(RequestError) in try RequestDecoder.decode(endpoint, body: raw) }
        } catch {
            return finishEarly(record, openAIError(error, headers: baseHeaders))
        }
        var headerMap: [String: String] = [:]
        for name in [RouteContext.Header.profile, RouteContext.Header.platform, RouteContext.Header.source,
                     RouteContext.Header.toolsets, RouteContext.Header.goal]
        {
            if let v = request.headers[HTTPField.Name(name)!] { headerMap[name] = v }
        }
        // The prompt's `String` only when a route matches on it; the digest is taken from the bytes.
        let ctx = RouteContext(request: decoded, headers: headerMap, promptText: state.policy.readsPromptText)
        record.update {
            $0.stream = ctx.stream
            $0.promptTokensEstimate = ctx.estimatedPromptTokens
            $0.promptChars = decoded.promptScalars
            $0.promptSHA256 = PromptDigest.hex(utf8: decoded.promptUTF8)
        }

        var snapshot = RuntimeSnapshot()
        for name in state.localProfiles {
            if let s = await runtime.status(ofProfile: name) { snapshot.statuses[name] = s }
        }
        let routed = Routed(ctx: ctx, decoded: decoded, raw: buffer, state: state, record: record,
                            clientHeaders: request.headers, baseHeaders: baseHeaders)
        return await decideAndForward(routed, snapshot: snapshot, frontWork: .zero, keepAliveWhileLoading: true)
    }

    /// One decoded request on its way through the decision.
    struct Routed: Sendable {
        let ctx: RouteContext
        let decoded: DecodedRequest
        let raw: ByteBuffer
        let state: LoadedConfig
        let record: RequestRecord
        let clientHeaders: HTTPFields
        let baseHeaders: HTTPFields
    }

    /// Decide, finding out what the decision asks for (an exact count, a free slot, a load) in between,
    /// then answer. `keepAliveWhileLoading`: a streaming request that waits for a load is answered at once
    /// with an SSE stream that carries keep-alive comments until the load ends (see `streamWhileLoading`).
    func decideAndForward(_ routed: Routed, snapshot start: RuntimeSnapshot, frontWork startWork: Duration,
                          keepAliveWhileLoading: Bool) async -> Response
    {
        let ctx = routed.ctx, state = routed.state, record = routed.record, baseHeaders = routed.baseHeaders
        let decoded = routed.decoded, buffer = routed.raw
        var snapshot = start
        snapshot.inFlight = inFlight.snapshot()
        var decision: RouteDecision
        var ticket: SlotTicket?
        var frontWork = startWork
        var round = 0
        while true {
            round += 1
            do {
                decision = try state.policy.decide(ctx, snapshot: snapshot, explain: false)
            } catch let e as RequestError {
                return finishEarly(record, openAIError(e, headers: baseHeaders))
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
                let exact = await countTokens(profile: profile, status: snapshot.statuses[profile], ctx: ctx,
                                              prompt: decoded.promptUTF8, body: buffer)
                frontWork += ContinuousClock.now - t0
                // A server that cannot count has the estimate taken as its count: deciding must end.
                snapshot.exactPromptTokens[profile] = exact ?? ctx.estimatedPromptTokens
                record.update { $0.promptTokensExact = exact }
                continue
            case .needsSlot(let profile, let wait):
                let limit = slotLimit(profile, state: state, status: snapshot.statuses[profile])
                // A server that stops serving while requests wait for its slots sends them on at once
                // (its burst profile, as local_down), not after the whole queue wait.
                let runtime = self.runtime
                let acquired = await inFlight.acquire(profile, limit: limit, within: wait) {
                    guard let s = await runtime.status(ofProfile: profile) else { return true }
                    return !BurstCheck.isServing(s)
                }
                snapshot.statuses[profile] = await runtime.status(ofProfile: profile)
                if acquired {
                    ticket = holdSlot(profile, count: inFlight.count(profile))
                    snapshot.holding = profile
                } else {
                    snapshot.waitedForSlot.insert(profile)
                }
                snapshot.inFlight[profile] = inFlight.count(profile)
                continue
            case .needsLoad(let profile, let wait) where wait && ctx.stream && keepAliveWhileLoading:
                ticket?.release()
                return streamWhileLoading(routed, snapshot: snapshot, profile: profile, frontWork: frontWork)
            case .needsLoad(let profile, let wait):
                // An on-demand model: the runtime loads it once however many requests ask.
                let answer = await runtime.ensureLoaded(profile: profile, wait: wait)
                snapshot.loads[profile] = answer
                if case .ready(let status) = answer { snapshot.statuses[profile] = status }
                continue
            case .forward(let profile) where state.config.profiles[profile]?.isLocal == true && ticket?.profile != profile:
                ticket?.release()
                ticket = nil
                snapshot.holding = nil
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
            let why = decision.detail.map { "profile \(profile) cannot take it (\($0)) and has no burst profile" }
                ?? "profile \(profile) is not running and has no burst profile"
            return finishEarly(record, openAIError(status: 503, message: why, type: "server_error", code: reason.rawValue, headers: h))
        case .forward(let profile):
            let job = Job(ctx: ctx, decoded: decoded, raw: buffer, decision: decision, first: profile, state: state, record: record,
                          frontWork: frontWork, clientHeaders: routed.clientHeaders, baseHeaders: baseHeaders,
                          askUsage: BodySplice.usageEdit(for: decoded))
            return await forward(job, ticket: ticket)
        case .needsExactCount, .needsSlot, .needsLoad:
            return finishEarly(record, openAIError(status: 500, message: "routing did not settle", code: "routing_failed", headers: baseHeaders))
        }
    }
}
