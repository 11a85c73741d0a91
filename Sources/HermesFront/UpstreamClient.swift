import AsyncHTTPClient
import HermesCore
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The front's HTTP/1.1 client for `http://` upstreams: the local llama-servers (every request an
/// agent makes) and plain-HTTP remotes. `https://` remotes go through AsyncHTTPClient.
///
/// Why not AsyncHTTPClient for these too: measured on the 2-core box (docs/benchmarks.md), passing a
/// request through Hummingbird + AsyncHTTPClient with nothing else in between costs ~190 us of CPU
/// per request, Hummingbird alone ~40 us. This client does only what a loopback proxy needs: keep-alive
/// connections pooled per upstream (a connection on the caller's event loop preferred, so a request
/// rarely changes threads), the request written in one flush, the answer's head awaited with a
/// first-byte deadline, and the body handed over chunk by chunk with back-pressure and an idle
/// deadline. A connection that fails before the first byte after being reused is retried once on a
/// fresh one (the server closed it while idle); nothing else is retried here.
package final class UpstreamClient: Sendable {
    /// Where to connect: one pool each.
    package struct Target: Hashable, Sendable {
        package var host: String
        package var port: Int
        package init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    let group: any EventLoopGroup
    let idleReadTimeout: TimeAmount
    let maxIdlePerTarget: Int
    let pools = Mutex<[Target: [UpstreamConnection]]>([:])
    let closed = Mutex(false)

    /// How long a pooled connection may sit idle before it is closed instead of reused: under
    /// llama-server's own keep-alive timeout (cpp-httplib's default is 5 s), so a request rarely meets a
    /// connection the server is closing.
    let maxIdleAge: TimeAmount

    package init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, idleReadTimeout: TimeAmount, maxIdlePerTarget: Int = 128,
         maxIdleAge: TimeAmount = .seconds(4))
    {
        self.group = group
        self.idleReadTimeout = idleReadTimeout
        self.maxIdlePerTarget = maxIdlePerTarget
        self.maxIdleAge = maxIdleAge
    }

    /// `http://host[:port][/prefix]` -> the target and the path prefix; nil for anything else (https).
    package static func parse(_ url: String) -> (target: Target, path: String)? {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = String(rest[slash...])
        guard !authority.isEmpty, !authority.utf8.contains(UInt8(ascii: "@")) else { return nil }
        var host: Substring
        var port = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()) else { return nil }
                port = p
            } else if !after.isEmpty {
                return nil
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = p
        } else {
            host = authority
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        return (Target(host: String(host), port: port), path)
    }

    /// Sends one request and returns once the answer's head is in.
    ///
    /// - Throws: `UpstreamError` (`refused`, `timeout`, `reset`, `error`) when no head arrived.
    package func send(_ target: Target, method: HTTPMethod = .POST, path: String, headers: HTTPHeaders, body: ByteBuffer?,
              connectTimeout: TimeAmount, firstByteTimeout: TimeAmount) async throws -> UpstreamResponse
    {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path.isEmpty ? "/" : path, headers: headers)
        head.headers.replaceOrAdd(name: "host", value: target.port == 80 ? target.host : "\(target.host):\(target.port)")
        // Always a length: without one NIO's encoder would send a POST chunked.
        if body != nil || (method != .GET && method != .HEAD) {
            head.headers.replaceOrAdd(name: "content-length", value: String(body?.readableBytes ?? 0))
        }
        for attempt in 0..<2 {
            // The retry never takes a pooled connection: its neighbours went idle at the same time.
            let (connection, reused) = try await connection(to: target, connectTimeout: connectTimeout, pooled: attempt == 0)
            let exchange = Exchange(eventLoop: connection.channel.eventLoop)
            connection.start(exchange, head: head, body: body, firstByteTimeout: firstByteTimeout)
            do {
                let responseHead = try await withTaskCancellationHandler {
                    try await exchange.head.futureResult.get()
                } onCancel: {
                    connection.channel.close(promise: nil)
                }
                return UpstreamResponse(status: Int(responseHead.status.code), headers: responseHead.headers,
                                        body: UpstreamBody(exchange))
            } catch UpstreamError.reset where reused && attempt == 0 && !exchange.sawBytes && !Task.isCancelled {
                continue
            }
        }
        throw UpstreamError.reset
    }

    /// An idle pooled connection (one on the caller's event loop if there is one), or a new one.
    func connection(to target: Target, connectTimeout: TimeAmount, pooled usePool: Bool = true) async throws
        -> (UpstreamConnection, reused: Bool)
    {
        let here = MultiThreadedEventLoopGroup.currentEventLoop
        let now = NIODeadline.now()
        let maxIdle = maxIdleAge
        let (pooled, stale): (UpstreamConnection?, [UpstreamConnection]) = usePool ? pools.withLock { pools in
            guard var list = pools[target], !list.isEmpty else { return (nil, []) }
            // Connections idle longer than the server keeps them are closed, not tried. The list is in
            // the order connections came back, so the stale ones are at its front.
            var stale: [UpstreamConnection] = []
            while let oldest = list.first, now - oldest.idleSince.withLock({ $0 }) > maxIdle {
                stale.append(list.removeFirst())
            }
            var taken: UpstreamConnection?
            if !list.isEmpty {
                var index = list.count - 1
                if let here, let i = list.lastIndex(where: { $0.channel.eventLoop === here }) { index = i }
                taken = list.remove(at: index)
            }
            pools[target] = list
            return (taken, stale)
        } : (nil, [])
        for c in stale { c.channel.close(promise: nil) }
        if let pooled, pooled.channel.isActive { return (pooled, true) }
        if closed.withLock({ $0 }) { throw UpstreamError.error("the front is shutting down") }
        let loop = here ?? group.next()
        let client = self
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            // TCP_NODELAY at level IPPROTO_TCP: `.socketOption(.tcp_nodelay)` is SOL_SOCKET's option 1,
            // SO_DEBUG, which only root may set: as any other user every connect to a server failed.
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = ExchangeHandler(idleReadTimeout: client.idleReadTimeout)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        do {
            let connection = try await bootstrap.connect(host: target.host, port: target.port).flatMapThrowing { channel in
                let handler = try channel.pipeline.syncOperations.handler(type: ExchangeHandler.self)
                let connection = UpstreamConnection(channel: channel, handler: handler, target: target, client: client)
                handler.connection = connection
                return connection
            }.get()
            return (connection, false)
        } catch {
            throw UpstreamError.connect(error)
        }
    }

    /// Back into the pool after a whole answer was read (called on the connection's event loop).
    func release(_ connection: UpstreamConnection) {
        connection.idleSince.withLock { $0 = .now() }
        let keep = pools.withLock { pools -> Bool in
            var list = pools[connection.target] ?? []
            guard list.count < maxIdlePerTarget, !closed.withLock({ $0 }) else { return false }
            list.append(connection)
            pools[connection.target] = list
            return true
        }
        if !keep { connection.channel.close(promise: nil) }
    }

    /// Out of the pool: the server closed it.
    func forget(_ connection: UpstreamConnection) {
        pools.withLock { pools in
            pools[connection.target]?.removeAll { $0 === connection }
        }
    }

    /// Closes every idle connection; requests under way finish on theirs.
    package func shutdown() async {
        closed.withLock { $0 = true }
        let all = pools.withLock { pools in
            defer { pools = [:] }
            return pools.values.flatMap { $0 }
        }
        for c in all { try? await c.channel.close() }
    }
}

/// Why no answer came, in the words of `X-Hermes-Attempts`.
package enum UpstreamError: UserFacingError, CustomStringConvertible {
    case refused
    case timeout
    case reset
    case error(String)

    static func connect(_ error: any Error) -> UpstreamError {
        if let e = error as? ChannelError, case .connectTimeout = e { return .timeout }
        if let e = error as? IOError, e.errnoCode == ECONNREFUSED { return .refused }
        if let e = error as? NIOConnectionError {
            if e.connectionErrors.contains(where: { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }) { return .refused }
            if e.connectionErrors.contains(where: { if case .connectTimeout? = $0.error as? ChannelError { true } else { false } }) {
                return .timeout
            }
        }
        let text = String(describing: error).lowercased()
        if text.contains("refused") { return .refused }
        if text.contains("timeout") || text.contains("timed out") { return .timeout }
        return .error(String(describing: error))
    }

    package var code: String { outcome }
    package var message: String { description }

    package var outcome: String {
        switch self {
        case .refused: "refused"
        case .timeout: "timeout"
        case .reset: "reset"
        case .error: "error"
        }
    }

    package var description: String {
        switch self {
        case .error(let text): "upstream error: \(text)"
        default: "upstream \(outcome)"
        }
    }
}

/// An answer whose head is in; its body streams.
package struct UpstreamResponse: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: UpstreamBody
}

/// One keep-alive connection to one upstream.
final class UpstreamConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<ExchangeHandler>
    let target: UpstreamClient.Target
    let client: UpstreamClient
    /// When it last went back to the pool.
    let idleSince = Mutex(NIODeadline.now())

    init(channel: any Channel, handler: ExchangeHandler, target: UpstreamClient.Target, client: UpstreamClient) {
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        self.target = target
        self.client = client
    }

    /// Writes the request in one flush and arms the first-byte deadline, on the connection's loop.
    func start(_ exchange: Exchange, head: HTTPRequestHead, body: ByteBuffer?, firstByteTimeout: TimeAmount) {
        let loop = channel.eventLoop
        let work: @Sendable () -> Void = { [self] in
            let handler = self.handler.value
            handler.begin(exchange, firstByteTimeout: firstByteTimeout)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
            let written = loop.makePromise(of: Void.self)
            written.futureResult.whenFailure { _ in
                let h = self.handler.value
                if h.exchange === exchange { h.fail(.reset) }
            }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: written)
        }
        if loop.inEventLoop { work() } else { loop.execute(work) }
    }
}

/// The state of one request on a connection, shared by the event loop (producer) and the task
/// reading the body (consumer).
final class Exchange: Sendable {
    struct Body {
        var chunks: [ByteBuffer] = []
        var next = 0
        var buffered = 0
        var finished = false
        var failure: UpstreamError?
        var waiter: CheckedContinuation<ByteBuffer?, any Error>?
        var paused = false
        /// The reading task was cancelled (the daemon's drain limit ran out): `next` throws.
        var cancelled = false
    }

    /// Pause reading from the upstream above this many buffered bytes; resume below a quarter of it.
    static let highWater = 1 << 20

    let head: EventLoopPromise<HTTPResponseHead>
    let body = Mutex(Body())
    let bytesSeen = Atomic<Bool>(false)
    /// Set by the handler: asks the loop to read again after a pause, or to close when abandoned.
    let resumeReads = Mutex<(@Sendable () -> Void)?>(nil)
    let abandon = Mutex<(@Sendable () -> Void)?>(nil)

    init(eventLoop: any EventLoop) {
        head = eventLoop.makePromise()
    }

    var sawBytes: Bool { bytesSeen.load(ordering: .relaxed) }

    /// Producer side (event loop). Returns true when reading should pause.
    func deliver(_ chunk: ByteBuffer) -> Bool {
        let (waiter, pause) = body.withLock { b -> (CheckedContinuation<ByteBuffer?, any Error>?, Bool) in
            if let w = b.waiter {
                b.waiter = nil
                return (w, false)
            }
            b.chunks.append(chunk)
            b.buffered += chunk.readableBytes
            if b.buffered > Self.highWater, !b.paused {
                b.paused = true
                return (nil, true)
            }
            return (nil, false)
        }
        waiter?.resume(returning: chunk)
        return pause
    }

    func finish(_ failure: UpstreamError?) {
        let waiter = body.withLock { b -> CheckedContinuation<ByteBuffer?, any Error>? in
            guard !b.finished else { return nil }
            b.finished = true
            b.failure = failure
            defer { b.waiter = nil }
            return b.waiter
        }
        if let failure { waiter?.resume(throwing: failure) } else { waiter?.resume(returning: nil) }
    }

    /// Takes the oldest buffered chunk; says whether reading should resume.
    private static func take(_ b: inout Body) -> (ByteBuffer, resume: Bool)? {
        guard b.next < b.chunks.count else { return nil }
        let c = b.chunks[b.next]
        b.next += 1
        b.buffered -= c.readableBytes
        if b.next == b.chunks.count {
            b.chunks.removeAll(keepingCapacity: true)
            b.next = 0
        }
        var resume = false
        if b.paused, b.buffered < Self.highWater / 4 {
            b.paused = false
            resume = true
        }
        return (c, resume)
    }

    /// Consumer side: the next chunk, nil at the end.
    func next() async throws -> ByteBuffer? {
        enum Step { case chunk(ByteBuffer, resume: Bool), end, fail(UpstreamError), wait }
        let step = body.withLock { b -> Step in
            if let (c, resume) = Self.take(&b) { return .chunk(c, resume: resume) }
            if let f = b.failure { return .fail(f) }
            return b.finished ? .end : .wait
        }
        switch step {
        case .chunk(let c, let resume):
            if resume { resumeReads.withLock { $0 }?() }
            return c
        case .end: return nil
        case .fail(let f): throw f
        case .wait: break
        }
        // Cancellation ends the wait (a stream with no next token must not hold the shutdown).
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let (now, resume) = body.withLock { b -> (Result<ByteBuffer?, any Error>?, Bool) in
                    if let (c, resume) = Self.take(&b) { return (.success(c), resume) }
                    if let f = b.failure { return (.failure(f), false) }
                    if b.finished { return (.success(nil), false) }
                    if b.cancelled { return (.failure(CancellationError()), false) }
                    b.waiter = continuation
                    return (nil, false)
                }
                if resume { resumeReads.withLock { $0 }?() }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let waiter = body.withLock { b -> CheckedContinuation<ByteBuffer?, any Error>? in
                b.cancelled = true
                defer { b.waiter = nil }
                return b.waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// The reader let go before the end: close the connection so the upstream stops generating.
    func abandoned() {
        let done = body.withLock { $0.finished }
        if !done { abandon.withLock { $0 }?() }
    }
}

/// The body of an upstream answer, chunk by chunk as the upstream sends it: from this client's
/// exchange, or from AsyncHTTPClient for an https remote.
package struct UpstreamBody: AsyncSequence, Sendable {
    package typealias Element = ByteBuffer

    /// Closes the connection if the body is dropped unread (client gone), so generation stops.
    final class Owner: Sendable {
        let exchange: Exchange
        init(_ exchange: Exchange) { self.exchange = exchange }
        deinit { exchange.abandoned() }
    }

    /// One AsyncHTTPClient body read by one iterator, kept here so that the first chunk (read before the
    /// status line goes out) and the rest come from the same iterator. Read by one task at a time: the
    /// attempt reads the first chunk, then the response writer the rest.
    final class ClientReader: @unchecked Sendable {
        var iterator: HTTPClientResponse.Body.AsyncIterator
        init(_ body: HTTPClientResponse.Body) { iterator = body.makeAsyncIterator() }
        func next() async throws -> ByteBuffer? { try await iterator.next() }
    }

    enum Source: Sendable {
        case exchange(Owner)
        case client(ClientReader)
    }

    let source: Source

    init(_ exchange: Exchange) { source = .exchange(Owner(exchange)) }
    init(_ body: HTTPClientResponse.Body) { source = .client(ClientReader(body)) }

    package struct AsyncIterator: AsyncIteratorProtocol {
        var owner: Owner?
        var client: ClientReader?

        package mutating func next() async throws -> ByteBuffer? {
            if let owner { return try await owner.exchange.next() }
            return try await client?.next()
        }
    }

    package func makeAsyncIterator() -> AsyncIterator {
        switch source {
        case .exchange(let owner): AsyncIterator(owner: owner)
        case .client(let reader): AsyncIterator(client: reader)
        }
    }

    /// Waits for the body's first chunk, so the front commits an answer's status line to the client
    /// only once the upstream has really begun to answer: a server that dies after its head but before
    /// its first token is then a failed attempt to retry elsewhere, not a cut answer. Both clients
    /// (this front's own for http://, AsyncHTTPClient for https:// remotes).
    package func firstChunk() async throws -> FirstChunk {
        let chunk: ByteBuffer?
        switch source {
        case .exchange(let owner): chunk = try await owner.exchange.next()
        case .client(let reader): chunk = try await reader.next()
        }
        return chunk.map { .chunk($0) } ?? .ended
    }

    package enum FirstChunk: Sendable {
        case chunk(ByteBuffer)
        case ended
    }

    /// The whole body, up to `limit` bytes (error answers are small).
    package func collect(upTo limit: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        for try await var chunk in self {
            guard all.readableBytes + chunk.readableBytes <= limit else { throw UpstreamError.error("answer over \(limit) bytes") }
            all.writeBuffer(&chunk)
        }
        return all
    }
}

/// Last in the pipeline, after NIO's HTTP client codec: routes the answer's parts to the exchange in
/// progress, enforces the deadlines, and hands the connection back to the pool at the end.
final class ExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    let idleReadTimeout: TimeAmount
    var connection: UpstreamConnection?
    var exchange: Exchange?
    var gotHead = false
    var keepAlive = true
    var firstByteDeadline: Scheduled<Void>?
    var idleDeadline: Scheduled<Void>?
    var lastRead = NIODeadline.now()
    var paused = false
    var pendingRead = false
    var context: ChannelHandlerContext?

    init(idleReadTimeout: TimeAmount) {
        self.idleReadTimeout = idleReadTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func begin(_ exchange: Exchange, firstByteTimeout: TimeAmount) {
        guard let context, context.channel.isActive else {
            exchange.head.fail(UpstreamError.reset)
            exchange.finish(.reset)
            return
        }
        self.exchange = exchange
        gotHead = false
        keepAlive = true
        paused = false
        let loop = context.eventLoop
        let loopBound = NIOLoopBound(self, eventLoop: loop)
        firstByteDeadline = loop.scheduleTask(in: firstByteTimeout) {
            loopBound.value.fail(.timeout)
        }
        exchange.resumeReads.withLock { $0 = { loop.execute { loopBound.value.resume() } } }
        // An identifier, not the exchange: the exchange holds this closure.
        let id = ObjectIdentifier(exchange)
        exchange.abandon.withLock { $0 = { loop.execute { loopBound.value.giveUp(id) } } }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            // Nothing was asked: whatever this is, the connection cannot be trusted with the next request.
            context.close(promise: nil)
            return
        }
        exchange.bytesSeen.store(true, ordering: .relaxed)
        lastRead = .now()
        switch unwrapInboundIn(data) {
        case .head(let head):
            firstByteDeadline?.cancel()
            firstByteDeadline = nil
            gotHead = true
            keepAlive = head.isKeepAlive
            scheduleIdleCheck(in: idleReadTimeout)
            exchange.head.succeed(head)
        case .body(let chunk):
            if exchange.deliver(chunk) { paused = true }
        case .end:
            idleDeadline?.cancel()
            idleDeadline = nil
            self.exchange = nil
            // Back in the pool before the reader hears of the end, so its next request finds it there.
            // (Another request cannot start on it before this returns: that happens on this loop.)
            if keepAlive, let connection {
                connection.client.release(connection)
            } else {
                context.close(promise: nil)
            }
            exchange.finish(nil)
        }
    }

    /// Holds reads back while the reader is more than `Exchange.highWater` behind.
    func read(context: ChannelHandlerContext) {
        if paused { pendingRead = true } else { context.read() }
    }

    func resume() {
        paused = false
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    func giveUp(_ abandoned: ObjectIdentifier) {
        guard let exchange, ObjectIdentifier(exchange) == abandoned else { return }
        fail(.reset)
    }

    /// One timer per answer, not per chunk: when it fires it looks at how long the upstream has been
    /// quiet and either fails the answer or sleeps for the rest of the allowance. A reader that is
    /// behind (reads paused) is not the upstream's silence.
    func scheduleIdleCheck(in delay: TimeAmount) {
        guard let context else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleDeadline = context.eventLoop.scheduleTask(in: delay) {
            let h = loopBound.value
            guard h.exchange != nil else { return }
            let quiet = NIODeadline.now() - h.lastRead
            if h.paused {
                h.scheduleIdleCheck(in: h.idleReadTimeout)
            } else if quiet >= h.idleReadTimeout {
                h.fail(.timeout)
            } else {
                h.scheduleIdleCheck(in: h.idleReadTimeout - quiet)
            }
        }
    }

    /// Ends the exchange in progress with `error` and closes the connection (its state is unknown).
    func fail(_ error: UpstreamError) {
        firstByteDeadline?.cancel()
        firstByteDeadline = nil
        idleDeadline?.cancel()
        idleDeadline = nil
        if let exchange {
            self.exchange = nil
            if !gotHead { exchange.head.fail(error) }
            exchange.finish(error)
        }
        context?.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let connection { connection.client.forget(connection) }
        fail(.reset)
        connection = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(.reset)
    }
}
