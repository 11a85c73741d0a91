import NIOCore
import NIOHTTP1

extension ConnectionGuard {
    /// Refuses a `CONNECT` with the same JSON 404 as any route the front does not serve.
    ///
    /// Why not `refuse`: NIO's response encoder drops the body of every answer to a `CONNECT` (right
    /// for a 2xx, which turns the connection into a tunnel; it does so for a 404 too), so the client
    /// would get an empty 404. The bytes are written below the encoder instead, and the connection closed.
    func refuseConnect(_ context: ChannelHandlerContext) {
        guard let encoder = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self) else {
            return refuse(context, status: 404, code: "not_found", message: Self.connectMessage)
        }
        timer?.cancel()
        timer = nil
        gate.waiting(context.channel, false)
        let body = openAIErrorBody(message: Self.connectMessage, type: "invalid_request_error", code: "not_found")
        var out = ByteBuffer(string: "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: \(body.readableBytes)\r\n"
            + "Connection: close\r\nX-Hermes-Route: none\r\nX-Request-Id: \(RequestID.random())\r\n\r\n")
        out.writeImmutableBuffer(body)
        let channel = context.channel
        encoder.writeAndFlush(NIOAny(out)).whenComplete { _ in channel.close(promise: nil) }
    }

    static let connectMessage = "no such endpoint: CONNECT (this front is not a proxy)"
}
