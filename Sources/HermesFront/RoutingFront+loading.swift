import Foundation
import HTTPTypes
import HermesCore
import Hummingbird
import NIOCore

extension RoutingFront {
    /// Seconds between `: loading` comments while a streaming request waits for its model: well under
    /// the 30-60 s read timeouts of common clients and proxies.
    static let loadingKeepAlive: Duration = .seconds(3)

    /// A streaming request waits for an on-demand load (`while_loading: wait`): the status line goes out
    /// at once and SSE comments keep the client's read timer fed until the load ends; then the request is
    /// decided again and the chosen upstream's stream is copied. The headers are already sent by then, so
    /// a failure (load refused, no upstream answered) arrives as an SSE error event and the receipts
    /// (route, attempts, reason) are only in the event log.
    func streamWhileLoading(_ routed: Routed, snapshot: RuntimeSnapshot, profile: String, frontWork: Duration) -> Response {
        var headers = routed.baseHeaders
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        headers[.hermesRoute] = profile
        headers[.hermesReason] = "loading"
        let front = self
        let runtime = self.runtime
        // Read now: the body is written after the handler returned, outside its task-local values.
        let shape = ErrorShape.current
        let body = ResponseBody { writer in
            let (events, feed) = AsyncStream.makeStream(of: LoadAnswer?.self)
            // nil is a tick, a value is the load's answer.
            let ticker = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.loadingKeepAlive)
                    feed.yield(nil)
                }
            }
            defer { ticker.cancel() }
            Task {
                feed.yield(await runtime.ensureLoaded(profile: profile, wait: true))
                feed.finish()
            }
            let comment = ByteBuffer(string: ": loading\n\n")
            try await writer.write(comment)
            var answer: LoadAnswer?
            for await event in events {
                if let event {
                    answer = event
                    break
                }
                try await writer.write(comment)
            }
            ticker.cancel()
            var next = snapshot
            next.loads[profile] = answer ?? .failed("the load was abandoned")
            if case .ready(let status)? = answer { next.statuses[profile] = status }
            let inner = await ErrorShape.$current.withValue(shape) {
                await front.decideAndForward(routed, snapshot: next, frontWork: frontWork, keepAliveWhileLoading: false)
            }
            if inner.status == .ok {
                try await inner.body.write(writer)
                return
            }
            // An error answer's body is one error object in the client's shape: it becomes the SSE error event.
            let collected = CollectingWriter()
            try? await inner.body.write(collected)
            try await writer.write(sseErrorEvent(collected.buffer, shape: shape))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}

/// Keeps what a response body writes (a small error object), to re-send it as an SSE event.
final class CollectingWriter: ResponseBodyWriter, @unchecked Sendable {
    var buffer = ByteBuffer()
    func write(_ chunk: ByteBuffer) async throws {
        var c = chunk
        buffer.writeBuffer(&c)
    }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
