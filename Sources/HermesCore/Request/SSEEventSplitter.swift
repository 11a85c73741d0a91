import Foundation

/// Cuts a Server-Sent Events byte stream into events and gives each event's `data:` payload (several
/// `data:` lines joined by newlines, as the SSE spec says). Comments (`: ping`) and events without data
/// give nothing. Bytes of an event not yet complete wait for the rest.
public struct SSEEventSplitter: Sendable {
    var pending: [UInt8] = []

    public init() {}

    /// The payloads of the events completed by `chunk`.
    public mutating func feed(_ chunk: some Collection<UInt8>) -> [Data] {
        Self.takeEvents(appending: chunk, to: &pending).compactMap(Self.payload)
    }

    /// Appends `chunk` to `pending` and takes out every event it completes (each with its blank line;
    /// "\n\n", or "\r\n\r\n" whose last two bytes are "\r\n" after a "\n"). The framing every SSE reader
    /// here shares: what is left in `pending` waits for the rest of its event.
    static func takeEvents(appending chunk: some Collection<UInt8>, to pending: inout [UInt8]) -> [ArraySlice<UInt8>] {
        pending.append(contentsOf: chunk)
        var out: [ArraySlice<UInt8>] = []
        var start = 0
        var i = 0
        let p = pending
        while i + 1 < p.count {
            if p[i] == 0x0A && (p[i + 1] == 0x0A || (p[i + 1] == 0x0D && i + 2 < p.count && p[i + 2] == 0x0A)) {
                let end = p[i + 1] == 0x0A ? i + 2 : i + 3
                out.append(p[start..<end])
                start = end
                i = end
                continue
            }
            i += 1
        }
        pending.removeFirst(start)
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
