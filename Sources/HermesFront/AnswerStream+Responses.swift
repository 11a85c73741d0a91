import Foundation
import HermesCore
import NIOCore

/// What the client gets of an upstream's answer: the bytes read ahead (to judge tool calls, or to put
/// the asked-for name in `model`), then the rest of the upstream's, `model` spliced on the way.
///
/// @unchecked Sendable: the upstream iterator is used by one task at a time, first by the forward loop
/// while it reads ahead, then by the response body writer once the answer is committed; never both.
final class AnswerStream: @unchecked Sendable {
    private var held: [ByteBuffer]
    private var iterator: UpstreamBody.AsyncIterator?
    private var sse: SSEModelSplice?
    /// Reads a stream's usage on the way (and drops the usage chunk the front asked for).
    private var meter: SSEUsageMeter?
    /// A whole answer's usage, read when it was read ahead.
    private let wholeUsage: AnswerUsage
    /// The length to announce, nil for chunked (a spliced stream changes length as it goes).
    let contentLength: Int?

    init(held: [ByteBuffer], iterator: UpstreamBody.AsyncIterator?, sse: SSEModelSplice?, contentLength: Int?,
         meter: SSEUsageMeter? = nil, usage: AnswerUsage = AnswerUsage())
    {
        self.held = held
        self.iterator = iterator
        self.sse = sse
        self.contentLength = contentLength
        self.meter = meter
        self.wholeUsage = usage
    }

    /// The tokens the upstream reported so far (all of them once `next()` has returned nil).
    var usage: AnswerUsage { meter?.usage ?? wholeUsage }

    /// The next bytes for the client; nil at the end. Throws what the upstream's body throws.
    func next() async throws -> ByteBuffer? {
        while true {
            if !held.isEmpty {
                let chunk = held.removeFirst()
                guard sse != nil || meter != nil else { return chunk }
                if let out = pass(chunk) { return out }
                continue
            }
            guard var it = iterator else { return nil }
            let chunk = try await it.next()
            iterator = it
            guard let chunk else {
                iterator = nil
                var rest: [UInt8] = []
                if meter != nil {
                    rest = meter!.finish()
                    if sse != nil { rest = sse!.feed(rest) }
                }
                if sse != nil { rest += sse!.finish() }
                return rest.isEmpty ? nil : ByteBuffer(bytes: rest)
            }
            guard sse != nil || meter != nil else { return chunk }
            if let out = pass(chunk) { return out }
        }
    }

    /// What `next()` gives, except that bytes held whole (an answer read ahead, or spliced as slices around
    /// `model`) come out together, for one write.
    func nextBuffers() async throws -> [ByteBuffer]? {
        if !held.isEmpty, sse == nil, meter == nil {
            defer { held.removeAll() }
            return held
        }
        return try await next().map { [$0] }
    }

    /// The chunk metered, then spliced; nil when none of it is ready to go yet.
    private func pass(_ chunk: ByteBuffer) -> ByteBuffer? {
        let out: [UInt8]
        if meter != nil {
            let metered = meter!.feed(chunk.readableBytesView)
            out = sse != nil ? sse!.feed(metered) : metered
        } else {
            out = sse!.feed(chunk.readableBytesView)
        }
        return out.isEmpty ? nil : ByteBuffer(bytes: out)
    }
}

/// The forward loop's verdict on a delivered answer before anything reaches the client.
enum AnswerVerdict {
    /// Send it.
    case deliver(AnswerStream)
    /// A tool call in a local answer is bad and nothing has been sent: try the burst profile.
    case promote(BadToolCall)
}

/// Reading ahead in an answer: how much, and what for.
struct AnswerReading {
    /// The name to put in `model` (the client's, else the profile's); nil leaves `model` alone.
    var modelName: String?
    /// The request's tools, when a bad tool call in this answer is to be promoted.
    var judgeTools: Set<String>?
    var api: AgentAPI
    var isSSE: Bool
    /// The front asked for the stream's usage chunk (`BodySplice.usageEdit`): the client does not get it.
    var dropUsageChunk = false

    /// A whole (non-streamed) answer larger than this goes out as it is, unjudged and unspliced.
    static let maxReadAhead = 32 << 20
    /// A spliced whole answer up to this size goes out as one buffer; a larger one as slices of the
    /// upstream's bytes around the new `model` value (no copy of the answer).
    static let gatherBelow = 64 << 10

    /// Reads what the verdict needs and decides. A read that fails mid-way delivers what was read and
    /// lets the body writer meet the failure (it reports a cut as for any answer).
    ///
    /// - Parameter first: the body's first chunk, when `attempt` already waited for it.
    func read(_ response: UpstreamResponse, first: UpstreamBody.FirstChunk) async -> AnswerVerdict {
        let length = response.headers.first(name: "content-length").flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        var start: [ByteBuffer] = []
        var it: UpstreamBody.AsyncIterator? = response.body.makeAsyncIterator()
        switch first {
        case .chunk(let c): start = [c]
        case .ended: it = nil
        }
        // Errors and other statuses go out as they are: no model to name, no tool call to judge.
        guard response.status == 200, modelName != nil || judgeTools != nil else {
            return .deliver(AnswerStream(held: start, iterator: it, sse: nil, contentLength: isSSE ? nil : length))
        }
        if isSSE {
            var splice = modelName.map(SSEModelSplice.init(name:))
            if api == .responses { splice?.numbers = ResponsesEventNumbers() }
            let meter = SSEUsageMeter(dropUsageOnly: dropUsageChunk)
            guard let tools = judgeTools, api == .chat, response.status == 200 else {
                return .deliver(AnswerStream(held: start, iterator: it, sse: splice, contentLength: nil, meter: meter))
            }
            var judge = ToolCallStreamJudge(tools: tools)
            var events = SSEEventSplitter()
            var held: [ByteBuffer] = []
            var heldBytes = 0
            var pending = start
            while true {
                let chunk: ByteBuffer?
                if !pending.isEmpty {
                    chunk = pending.removeFirst()
                } else {
                    do { chunk = try await it?.next() } catch {
                        return .deliver(AnswerStream(held: held, iterator: it, sse: splice, contentLength: nil, meter: meter))
                    }
                }
                guard let chunk else { return .deliver(AnswerStream(held: held, iterator: nil, sse: splice, contentLength: nil, meter: meter)) }
                held.append(chunk)
                heldBytes += chunk.readableBytes
                // Bytes that complete no event (a runaway event, comments only) are not held without end.
                if heldBytes > ToolCallStreamJudge.maxHeldBytes {
                    return .deliver(AnswerStream(held: held, iterator: it, sse: splice, contentLength: nil, meter: meter))
                }
                for payload in events.feed(chunk.readableBytesView) {
                    switch judge.feed(payload) {
                    case .hold: continue
                    case .judged(let bad?): return .promote(bad)
                    case .release, .judged(nil):
                        return .deliver(AnswerStream(held: held, iterator: it, sse: splice, contentLength: nil, meter: meter))
                    }
                }
            }
        }
        // A whole JSON answer: read it all (bounded), judge, splice.
        var chunks: [ByteBuffer] = start
        var total = start.reduce(0) { $0 + $1.readableBytes }
        while it != nil {
            let chunk: ByteBuffer?
            do { chunk = try await it?.next() } catch {
                return .deliver(AnswerStream(held: chunks, iterator: it, sse: nil, contentLength: length))
            }
            guard let chunk else { break }
            total += chunk.readableBytes
            chunks.append(chunk)
            if total > Self.maxReadAhead {
                return .deliver(AnswerStream(held: chunks, iterator: it, sse: nil, contentLength: length))
            }
        }
        // One contiguous buffer to read: the one chunk as it came, else the chunks gathered once.
        var whole: ByteBuffer
        if chunks.count == 1 {
            whole = chunks[0]
        } else {
            whole = ByteBufferAllocator().buffer(capacity: total)
            for var c in chunks { whole.writeBuffer(&c) }
        }
        if let tools = judgeTools, response.status == 200,
            let bad = ToolCallCheck.check(answer: Data(whole.readableBytesView), api: api, tools: tools)
        {
            return .promote(bad)
        }
        let ok = response.status == 200, name = modelName
        let (usage, edits) = whole.withUnsafeReadableBytes { raw in
            let b = raw.assumingMemoryBound(to: UInt8.self)
            return (ok ? UsageReport.read(b)?.usage ?? AnswerUsage() : AnswerUsage(), name.map { ModelFieldSplice.edits(in: b, name: $0) } ?? [])
        }
        guard !edits.isEmpty else {
            return .deliver(AnswerStream(held: [whole], iterator: nil, sse: nil, contentLength: whole.readableBytes, usage: usage))
        }
        // A small answer is cheaper to copy once than to write as several buffers (measured: 8 clients
        // of a 0.5 KB answer lost a fifth of their rate to the gathered write); a larger one goes out as
        // slices of the upstream's bytes around the new value, not copied.
        var held: [ByteBuffer] = []
        if whole.readableBytes <= Self.gatherBelow {
            held = [RoutingFront.body(whole, edits: edits)]
        } else {
            let base = whole.readerIndex
            BodySplice.apply(edits, length: whole.readableBytes,
                             copy: { r in held.append(whole.getSlice(at: base + r.lowerBound, length: r.count) ?? ByteBuffer()) },
                             insert: { held.append(ByteBuffer(bytes: $0)) })
        }
        let splicedLength = held.reduce(0) { $0 + $1.readableBytes }
        return .deliver(AnswerStream(held: held, iterator: nil, sse: nil, contentLength: splicedLength, usage: usage))
    }
}
