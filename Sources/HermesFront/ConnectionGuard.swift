import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

/// The connections the front holds, shared by every connection's `ConnectionGuard`.
///
/// Why a cap below the descriptor limit: 400 idle TCP connections once exhausted the daemon's file
/// descriptors and killed it (every model with it). Why evict the oldest idle connection rather than
/// refuse the new one: a flood of idle or slowloris connections must not lock real clients out; a
/// connection with a request under way is never evicted.
final class ConnectionGate: Sendable {
    struct State {
        var open = 0
        var serial: UInt64 = 0
        /// Connections waiting for a request head, by id: the channel and when it started waiting.
        var idle: [ObjectIdentifier: (channel: any Channel, since: UInt64)] = [:]
    }

    let cap: Int
    let headTimeout: TimeAmount
    let bodyTimeout: TimeAmount
    let state = Mutex(State())

    init(cap: Int, headTimeout: TimeAmount, bodyTimeout: TimeAmount) {
        self.cap = max(1, cap)
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
    }

    /// Admits a new connection (counted from now on); at the cap the oldest idle one is closed to make
    /// room. False when every held connection has a request under way: close the new one.
    func admit(_ channel: any Channel) -> Bool {
        let victim: (any Channel)?? = state.withLock { s in
            guard s.open >= cap else {
                s.open += 1
                return .some(nil)
            }
            guard let oldest = s.idle.min(by: { $0.value.since < $1.value.since }) else { return nil }
            s.idle[oldest.key] = nil
            s.open += 1   // the victim's own release takes one off
            return .some(oldest.value.channel)
        }
        switch victim {
        case .none: return false
        case .some(let v):
            v?.close(promise: nil)
            return true
        }
    }

    func release(_ channel: any Channel) {
        state.withLock { s in
            s.open = max(0, s.open - 1)
            s.idle[ObjectIdentifier(channel)] = nil
        }
    }

    func waiting(_ channel: any Channel, _ yes: Bool) {
        state.withLock { s in
            if yes {
                s.serial &+= 1
                s.idle[ObjectIdentifier(channel)] = (channel, s.serial)
            } else {
                s.idle[ObjectIdentifier(channel)] = nil
            }
        }
    }

    var openCount: Int { state.withLock { $0.open } }
}

/// First handler after the HTTP codec on every front connection:
/// - admits it through the `ConnectionGate` (cap, eviction of idle connections);
/// - closes it when a complete request head has not arrived within `headTimeout` of it opening or of
///   the previous answer ending (slowloris, idle keep-alive), or a body within `bodyTimeout` of its head;
/// - refuses a request target over 16 KB (414), `CONNECT` (404, as any path it does not serve) and a
///   request with two `Host` headers (400, RFC 9112 section 3.2);
/// - answers a request NIO's parser rejects (bad request line, too many or too large headers, bad
///   Content-Length, smuggling shapes) with an OpenAI-shaped JSON 400/431 and closes, where Hummingbird
///   would send an empty 400.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let gate: ConnectionGate
    var admitted = false
    var released = false
    /// A request head went up and its answer has not ended yet.
    var inRequest = false
    /// An error answer went out; the connection is closing.
    var refusing = false
    var timer: Scheduled<Void>?

    init(gate: ConnectionGate) { self.gate = gate }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { open(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        open(context)
        context.fireChannelActive()
    }

    func open(_ context: ChannelHandlerContext) {
        guard !admitted else { return }
        admitted = true
        guard gate.admit(context.channel) else {
            released = true
            gate.release(context.channel)
            context.close(promise: nil)
            return
        }
        waitForHead(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { finish(context) }

    func finish(_ context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if admitted, !released {
            released = true
            gate.release(context.channel)
        }
    }

    func waitForHead(_ context: ChannelHandlerContext) {
        gate.waiting(context.channel, true)
        schedule(context, in: gate.headTimeout)
    }

    func schedule(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: delay) { channel.close(promise: nil) }
    }

    /// Longer request targets are refused (414) before routing: no endpoint takes a query.
    static let maxTargetBytes = 16 << 10

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refusing { return }
        if case .head(let head) = unwrapInboundIn(data) {
            if (head.path?.utf8.count ?? 0) > Self.maxTargetBytes {
                refusing = true
                refuse(context, status: 414, code: "uri_too_long", message: "the request target is over \(Self.maxTargetBytes) bytes")
                return
            }
            if head.method == .connect {
                refusing = true
                return refuseConnect(context)
            }
            if let (status, code, message) = Self.refusal(head) {
                refusing = true
                refuse(context, status: status, code: code, message: message)
                return
            }
            inRequest = true
            gate.waiting(context.channel, false)
            // The body must follow within bodyTimeout (a stalled upload holds a connection otherwise).
            schedule(context, in: gate.bodyTimeout)
        } else if case .end = unwrapInboundIn(data) {
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), inRequest {
            inRequest = false
            waitForHead(context)
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Mid-answer, Hummingbird owns the connection: let it close it.
        guard !inRequest else { return context.fireErrorCaught(error) }
        guard !refusing else { return }
        refusing = true
        let (status, code, message) = Self.describe(error)
        refuse(context, status: status, code: code, message: message)
    }

    /// Answers with an OpenAI-shaped error and closes; nothing else is read or written on the connection.
    func refuse(_ context: ChannelHandlerContext, status: Int, code: String, message: String) {
        timer?.cancel()
        timer = nil
        gate.waiting(context.channel, false)
        var head = HTTPResponse(status: .init(code: status))
        let body = openAIErrorBody(message: message, type: "invalid_request_error", code: code)
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(body.readableBytes)
        head.headerFields[.connection] = "close"
        head.headerFields[HTTPField.Name("X-Hermes-Route")!] = "none"
        head.headerFields[HTTPField.Name("X-Request-Id")!] = RequestID.random()
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Why a request head is refused before Hummingbird sees it. The HTTP/1 conversion keeps the first
    /// `Host` as the authority and leaves any other among the fields.
    static func refusal(_ head: HTTPRequest) -> (Int, String, String)? {
        if head.headerFields[HTTPField.Name("Host")!] != nil {
            return (400, "duplicate_host", "the request has more than one Host header")
        }
        return nil
    }

    /// Status, code and message for an error NIO's HTTP parser (or the HTTP types conversion) raised.
    static func describe(_ error: any Error) -> (Int, String, String) {
        if let e = error as? HTTPParserError {
            switch e {
            case .headerOverflow:
                return (431, "headers_too_large", "the request's headers are too many or too large")
            case .invalidContentLength, .unexpectedContentLength:
                return (400, "invalid_content_length", "the request's Content-Length is invalid or conflicts with Transfer-Encoding")
            case .invalidChunkSize:
                return (400, "invalid_transfer_encoding", "the request's chunked body is malformed")
            case .invalidURL:
                return (400, "invalid_url", "the request's path is not a valid URL")
            case .invalidVersion:
                return (400, "invalid_http_version", "the request line's HTTP version is invalid")
            default:
                return (400, "malformed_http", "the request is not valid HTTP/1.1 (\(e))")
            }
        }
        return (400, "malformed_http", "the request is not valid HTTP/1.1")
    }
}
