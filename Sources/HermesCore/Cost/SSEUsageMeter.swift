/// Reads the usage out of a streamed answer as it passes, event by event, and leaves out the usage-only
/// chunk when the front asked for it on the client's behalf (`BodySplice.usageEdit`).
///
/// Only events whose bytes mention `usage` or `timings` are parsed: the rest pass through untouched,
/// so a long stream costs one scan of its bytes, not a JSON parse per token.
public struct SSEUsageMeter: Sendable {
    public private(set) var usage = AnswerUsage()
    /// Drop OpenAI-style chunks with empty `choices` that carry `usage`.
    let dropUsageOnly: Bool
    var events = SSEEventBuffer()

    public init(dropUsageOnly: Bool) { self.dropUsageOnly = dropUsageOnly }

    /// The bytes to pass on after `chunk` arrived (whole events; a partial event waits for the rest).
    public mutating func feed(_ chunk: some Collection<UInt8>) -> [UInt8] {
        var u = usage
        let drop = dropUsageOnly
        let out = events.feed(chunk, limit: SSEModelSplice.maxEventBytes) { e, out in
            if Self.keep(e, usage: &u, drop: drop) { out.append(contentsOf: e) }
        }
        usage = u
        return out
    }

    /// What is left when the upstream ends (an event without its blank line).
    public mutating func finish() -> [UInt8] {
        let rest = events.finish()
        guard !rest.isEmpty, Self.keep(rest[...], usage: &usage, drop: dropUsageOnly) else { return [] }
        return rest
    }

    /// Reads the event's usage; false when it is the usage-only chunk to leave out.
    static func keep(_ event: ArraySlice<UInt8>, usage: inout AnswerUsage, drop dropUsageOnly: Bool) -> Bool {
        guard Self.mentionsUsage(event), let payload = SSEEventSplitter.payload(event) else { return true }
        let report = payload.withUnsafeBytes { raw in
            UsageReport.read(UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count))
        }
        guard let report else { return true }
        usage.merge(report.usage)
        return !(dropUsageOnly && report.isUsageOnlyChunk)
    }

    /// True when the bytes hold `usage"` or `timings"` (the keys, closing quote included).
    static func mentionsUsage(_ e: ArraySlice<UInt8>) -> Bool {
        let u = Array("usage\"".utf8), t = Array("timings\"".utf8)
        return e.withContiguousStorageIfAvailable { p -> Bool in
            var i = 0
            let n = p.count
            while i < n {
                // Both keys end in `s"`: look for the quote, then check backwards.
                if p[i] == 0x22, i >= 5 {
                    if i >= 7, p[(i - 7)...i].elementsEqual(t) { return true }
                    if p[(i - 5)...i].elementsEqual(u) { return true }
                }
                i += 1
            }
            return false
        } ?? false
    }
}

extension BodySplice {
    /// The edit that asks an OpenAI-style upstream to end its stream with a usage chunk
    /// (`stream_options.include_usage`). Nil when the client sent `stream_options` itself (its choice
    /// stands), when it is not a stream, or when the endpoint always reports usage (Responses, Messages).
    public static func usageEdit(for request: DecodedRequest) -> BodyEdit? {
        guard request.stream, !request.hasStreamOptions, request.memberCount > 0,
            request.endpoint == .chatCompletions || request.endpoint == .completions
        else { return nil }
        return BodyEdit(range: request.objectStart..<request.objectStart,
                        bytes: Array(#""stream_options":{"include_usage":true},"#.utf8))
    }
}

/// Whole events out of a stream's chunks (the framing of `SSEEventSplitter`), with a bound: an event
/// larger than `limit` is passed on as it is rather than held without end. Shared by the `model`
/// splice and the usage meter.
public struct SSEEventBuffer: Sendable {
    var pending: [UInt8] = []
    var scanned = 0

    public init() {}

    /// Appends `chunk`; `each` turns every event it completed into bytes to send.
    mutating func feed(_ chunk: some Collection<UInt8>, limit: Int, _ each: (ArraySlice<UInt8>, inout [UInt8]) -> Void) -> [UInt8] {
        var out: [UInt8] = []
        for e in SSEEventSplitter.takeEvents(appending: chunk, to: &pending, scanned: &scanned) { each(e, &out) }
        if pending.count > limit {
            out.append(contentsOf: pending)
            pending.removeAll()
            scanned = 0
        }
        return out
    }

    /// The bytes of an event the stream ended without finishing, and an empty buffer.
    mutating func finish() -> [UInt8] {
        defer {
            pending.removeAll()
            scanned = 0
        }
        return pending
    }
}
