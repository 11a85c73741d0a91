import Foundation

/// Puts the name the client asked for into an answer's `model` field, by splicing the bytes of that one
/// value; everything else goes out exactly as the upstream wrote it.
///
/// Where `model` sits: at the top of a chat completion, a chat chunk, a Responses object and an
/// Anthropic message; inside `response` in Responses stream events (`response.created`, ...) and inside
/// `message` in Anthropic's `message_start`. Only those places are touched: a tool's arguments object
/// may well have its own `model` key.
public enum ModelFieldSplice {
    /// The byte ranges (quotes included) of the `model` string values to replace. Empty when the text is
    /// not one JSON object or has none; a scan never reads out of bounds and never traps.
    public static func spans(in b: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        struct Frame {
            var isObject: Bool
            var key: [UInt8]?  // the member whose value is being read (objects)
            var wantKey: Bool
            /// This object's `model` members count (top level, or `response` / `message` under it).
            var counts: Bool
        }
        var stack: [Frame] = []
        var out: [Range<Int>] = []
        var i = 0
        let n = b.count
        let model = Array("model".utf8)

        /// Reads a string starting at the quote at `i`; returns its content range and moves past it.
        func readString(_ i: inout Int) -> Range<Int>? {
            let start = i + 1
            var j = start
            while j < n {
                let c = b[j]
                if c == UInt8(ascii: "\\") { j += 2; continue }
                if c == UInt8(ascii: "\"") {
                    i = j + 1
                    return start..<j
                }
                j += 1
            }
            return nil
        }

        while i < n {
            let c = b[i]
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = c == UInt8(ascii: "{")
                var counts = false
                if isObject {
                    if stack.isEmpty {
                        counts = true
                    } else if stack.count == 1, let k = stack[0].key, stack[0].isObject {
                        counts = k.elementsEqual("response".utf8) || k.elementsEqual("message".utf8)
                    }
                } else if stack.isEmpty {
                    return []
                }
                guard stack.count < 256 else { return [] }
                stack.append(Frame(isObject: isObject, key: nil, wantKey: isObject, counts: counts))
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard !stack.isEmpty else { return [] }
                stack.removeLast()
                if stack.isEmpty { return out }
                i += 1
            case UInt8(ascii: ","):
                guard !stack.isEmpty else { return [] }
                if stack[stack.count - 1].isObject {
                    stack[stack.count - 1].wantKey = true
                    stack[stack.count - 1].key = nil
                }
                i += 1
            case UInt8(ascii: ":"):
                guard !stack.isEmpty else { return [] }
                stack[stack.count - 1].wantKey = false
                i += 1
            case UInt8(ascii: "\""):
                let quote = i
                guard let content = readString(&i) else { return [] }
                guard var top = stack.last else { return [] }
                if top.isObject && top.wantKey {
                    top.key = Array(b[content])
                    stack[stack.count - 1] = top
                } else if top.isObject, top.counts, let k = top.key, k == model {
                    out.append(quote..<i)
                }
            default:
                i += 1
            }
        }
        return []
    }

    /// The edits that put `name` (a JSON string, escaped here) in every counted `model` value, for
    /// `BodySplice` (the same splice the front applies to requests).
    public static func edits(in b: UnsafeBufferPointer<UInt8>, name: String) -> [BodyEdit] {
        let found = spans(in: b)
        guard !found.isEmpty else { return [] }
        let value = jsonString(name)
        return found.map { BodyEdit(range: $0, bytes: value) }
    }

    /// `bytes` with every counted `model` value replaced by `name`.
    public static func replacing(in bytes: [UInt8], with name: String) -> [UInt8] {
        let edits = bytes.withUnsafeBufferPointer { Self.edits(in: $0, name: name) }
        return edits.isEmpty ? bytes : BodySplice.apply(edits, to: bytes)
    }

    /// A JSON string literal (quotes included) for `s`.
    public static func jsonString(_ s: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for u in s.utf8 {
            switch u {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(u >> 4)], hex[Int(u & 15)]]
            default: out.append(u)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }
}

/// The same splice over a Server-Sent Events stream: events are cut at their blank line, each `data:`
/// payload is spliced, and the bytes of an event not yet complete wait for the rest.
public struct SSEModelSplice: Sendable {
    let value: String
    var events = SSEEventBuffer()
    /// A Responses API stream's missing event numbers are added too; nil for other APIs.
    public var numbers: ResponsesEventNumbers?
    /// An event larger than this is passed on unspliced rather than buffered without end.
    public static let maxEventBytes = 8 << 20

    public init(name: String) { self.value = name }

    /// The bytes ready to send after `chunk` arrived.
    public mutating func feed(_ chunk: some Collection<UInt8>) -> [UInt8] {
        let name = value
        var numbers = self.numbers
        defer { self.numbers = numbers }
        return events.feed(chunk, limit: Self.maxEventBytes) { e, out in
            out.append(contentsOf: Self.event(Array(e), name: name, numbers: &numbers))
        }
    }

    /// Whatever is left when the upstream ends (an event without its blank line), spliced.
    public mutating func finish() -> [UInt8] {
        let rest = events.finish()
        return rest.isEmpty ? [] : Self.event(rest, name: value, numbers: &numbers)
    }

    /// One event: each `data:` line's payload spliced, other lines as they are.
    static func event(_ e: [UInt8], name: String, numbers: inout ResponsesEventNumbers?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(e.count + 16)
        var lineStart = 0
        var i = 0
        while i <= e.count {
            if i == e.count || e[i] == 0x0A {
                let line = e[lineStart..<i]
                if line.starts(with: "data:".utf8) {
                    var payloadStart = lineStart + 5
                    if payloadStart < i, e[payloadStart] == 0x20 { payloadStart += 1 }
                    var payloadEnd = i
                    if payloadEnd > payloadStart, e[payloadEnd - 1] == 0x0D { payloadEnd -= 1 }
                    out.append(contentsOf: e[lineStart..<payloadStart])
                    let payload = ModelFieldSplice.replacing(in: Array(e[payloadStart..<payloadEnd]), with: name)
                    out.append(contentsOf: numbers == nil ? payload : numbers!.number(payload))
                    out.append(contentsOf: e[payloadEnd..<i])
                } else {
                    out.append(contentsOf: line)
                }
                if i < e.count { out.append(0x0A) }
                lineStart = i + 1
            }
            i += 1
        }
        return out
    }
}
