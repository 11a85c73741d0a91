import Foundation

/// Cuts a Server-Sent Events byte stream into events and gives each event's `data:` payload (several
/// `data:` lines joined by newlines, as the SSE spec says). Comments (`: ping`) and events without data
/// give nothing. Bytes of an event not yet complete wait for the rest.
public struct SSEEventSplitter: Sendable {
    var pending: [UInt8] = []
    /// How far into `pending` earlier feeds looked for an event's end (see `takeEvents`).
    var scanned = 0

    public init() {}

    /// The payloads of the events completed by `chunk`.
    public mutating func feed(_ chunk: some Collection<UInt8>) -> [Data] {
        Self.takeEvents(appending: chunk, to: &pending, scanned: &scanned).compactMap(Self.payload)
    }

    /// Appends `chunk` to `pending` and takes out every event it completes (each with its blank line;
    /// "\n\n", or "\r\n\r\n" whose last two bytes are "\r\n" after a "\n"). The framing every SSE reader
    /// here shares: what is left in `pending` waits for the rest of its event.
    ///
    /// `scanned` is how many bytes of `pending` an earlier call has already looked at: the search goes
    /// on from two bytes before it (an end may straddle the chunks), so one large event arriving in many
    /// small chunks costs linear time, not quadratic.
    static func takeEvents(appending chunk: some Collection<UInt8>, to pending: inout [UInt8], scanned: inout Int)
        -> [ArraySlice<UInt8>]
    {
        pending.append(contentsOf: chunk)
        var out: [ArraySlice<UInt8>] = []
        var start = 0
        var i = max(0, min(scanned, pending.count) - 2)
        let count = pending.count
        pending.withUnsafeBufferPointer { p in
            while i + 1 < count {
                if p[i] == 0x0A && (p[i + 1] == 0x0A || (p[i + 1] == 0x0D && i + 2 < count && p[i + 2] == 0x0A)) {
                    let end = p[i + 1] == 0x0A ? i + 2 : i + 3
                    out.append(ArraySlice(p[start..<end]))
                    start = end
                    i = end
                    continue
                }
                i += 1
            }
        }
        pending.removeFirst(start)
        scanned = pending.count
        return out
    }

    /// Bytes waiting for the end of their event.
    public var pendingCount: Int { pending.count }

    static func payload(_ event: ArraySlice<UInt8>) -> Data? {
        var data: [UInt8]?
        for line in event.split(separator: 0x0A, omittingEmptySubsequences: true) {
            var l = line
            if l.last == 0x0D { l = l.dropLast() }
            guard l.starts(with: "data:".utf8) else { continue }
            var v = l.dropFirst(5)
            if v.first == 0x20 { v = v.dropFirst() }
            if data == nil { data = Array(v) } else { data!.append(0x0A); data!.append(contentsOf: v) }
        }
        return data.map { Data($0) }
    }
}
