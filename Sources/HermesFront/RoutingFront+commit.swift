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
    /// The answer is going out: status and headers now, the body chunk by chunk as the upstream sends it.
    func commit(response: UpstreamResponse, answer: AnswerStream, isSSE: Bool, profile: String, reason: String,
                attempts: [Attempt], record: RequestRecord, upstreamBeforeCommit: Duration, ticket: SlotTicket?,
                baseHeaders: HTTPFields, warm: WarmPlacement? = nil) -> Response
    {
        var headers = baseHeaders
        appendAnswerHeaders(response.headers, to: &headers)
        let overhead = (ContinuousClock.now - record.start) - upstreamBeforeCommit
        headers[.hermesRoute] = profile
        headers[.hermesReason] = reason
        headers[.hermesAttempts] = attempts.map(\.receipt).joined(separator: ",")
        headers[.hermesOverhead] = formatMs(overhead.milliseconds)
        record.update { $0.overhead = overhead }
        let watch = warm.map { w in WarmWatch(placement: w, profile: profile, record: record, front: self) }
        if let w = warm { headers[.hermesWarm] = w.restoredTokens > 0 ? "restored \(w.restoredTokens)" : w.pinned ? "slot \(w.slot)" : "slot auto" }
        if !isSSE {
            receipt(&headers, usage: answer.usage, price: record.snapshot.price)
            recordSpendBeforeSending(record, usage: answer.usage)
        }
        let front = self
        // Read now: the body is written after the handler returned, outside its task-local values.
        let shape = ErrorShape.current
        let responseBody = ResponseBody(contentLength: isSSE ? nil : answer.contentLength) { writer in
            var bytes = 0
            var firstByte: Duration?
            var cut: String?
            defer {
                ticket?.release()
                watch?.finish()
            }
            while true {
                let chunks: [ByteBuffer]?
                do {
                    chunks = try await answer.nextBuffers()
                } catch {
                    // Cancelled: the daemon's drain limit ran out with this stream still going.
                    cut = error is CancellationError || Task.isCancelled ? "shutting_down" : classify(error)
                    break
                }
                guard let chunks else { break }
                if firstByte == nil { firstByte = ContinuousClock.now - record.start }
                for chunk in chunks {
                    bytes += chunk.readableBytes
                    watch?.see(chunk)
                }
                do {
                    if chunks.count == 1 { try await writer.write(chunks[0]) } else { try await writer.write(contentsOf: chunks) }
                } catch {
                    // The client went away: nothing left to deliver.
                    record.update { $0.bytesOut = bytes; $0.firstByte = firstByte; $0.cut = "client_gone"; $0.usage = answer.usage }
                    ticket?.release()
                    watch?.finish()
                    front.writeEvent(record)
                    throw error
                }
            }
            record.update { $0.bytesOut = bytes; $0.firstByte = firstByte; $0.cut = cut; $0.usage = answer.usage }
            watch?.finish()
            if let cut {
                front.logger.warning("upstream stream cut", metadata: ["profile": "\(profile)", "outcome": "\(cut)",
                                                                        "request_id": "\(record.id)"])
                ticket?.release()
                if isSSE {
                    let message = "the upstream (\(profile)) cut the stream (\(cut)) after \(bytes) bytes; not retried after the first byte"
                    let shuttingDown = cut == "shutting_down"
                    let text = shuttingDown ? "the daemon is shutting down" : message
                    let code = shuttingDown ? "shutting_down" : "stream_cut"
                    let out = sseErrorEvent(
                        shape == .anthropic
                            ? anthropicErrorBody(status: shuttingDown ? 503 : 502, message: text, code: code)
                            : openAIErrorBody(message: text, type: shuttingDown ? "server_error" : "upstream_error", code: code),
                        shape: shape)
                    if shuttingDown {
                        // This task is cancelled, and NIO refuses writes from a cancelled task: a task of
                        // its own sends the last event.
                        let box = WriterBox(writer: writer)
                        let last = out
                        await Task {
                            var w = box.writer
                            try? await w.write(last)
                            try? await w.finish(nil)
                        }.value
                    } else {
                        try? await writer.write(out)
                        try? await writer.finish(nil)
                    }
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
}

/// A body writer handed to a task of its own (Hummingbird's writer is Sendable; the existential is not).
struct WriterBox: @unchecked Sendable {
    let writer: any ResponseBodyWriter
}
