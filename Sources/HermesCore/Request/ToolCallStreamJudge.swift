import Foundation

/// Holds a streamed chat completion's events while they carry nothing but tool-call deltas, puts each
/// call together, and judges the calls once the choice finishes.
///
/// The front feeds it each SSE event's `data:` payload in order and does what it says:
/// - `.hold`: keep the event back (nothing but a role, an empty delta or tool-call pieces so far);
/// - `.release`: the answer has text (or something this judge does not read): send what was held and
///   pass the rest through untouched, no judging;
/// - `.judged(nil)`: the calls are good: send what was held and the rest;
/// - `.judged(bad)`: nothing has reached the client and a call is bad: drop what was held and promote.
public struct ToolCallStreamJudge: Sendable {
    public enum Step: Sendable, Equatable {
        case hold
        case release
        case judged(BadToolCall?)
    }

    /// One call under construction, by its `index` in the deltas.
    struct PartialCall: Sendable {
        var name = ""
        var arguments = ""
    }

    let tools: Set<String>
    var calls: [Int: PartialCall] = [:]
    /// The most arguments text held for one answer: a runaway call is released, not buffered forever.
    public static let maxHeldBytes = 1 << 20
    var heldBytes = 0
    public private(set) var done = false

    public init(tools: Set<String>) { self.tools = tools }

    /// The next event's `data:` payload (without `data: `; `[DONE]` included).
    public mutating func feed(_ payload: Data) -> Step {
        if done { return .release }
        heldBytes += payload.count
        if heldBytes > Self.maxHeldBytes { return finish(release: true) }
        if payload.elementsEqual("[DONE]".utf8) { return finish(release: false) }
        guard let chunk = try? JSONDecoder().decode(Chunk.self, from: payload) else { return finish(release: true) }
        var finished = false
        for choice in chunk.choices ?? [] {
            if let d = choice.delta {
                if let text = d.content, !text.isEmpty { return finish(release: true) }
                if let text = d.reasoningContent, !text.isEmpty { return finish(release: true) }
                if d.functionCall != nil { return finish(release: true) }
                for piece in d.toolCalls ?? [] {
                    guard let i = piece.index, i >= 0, i < 1024 else { return finish(release: true) }
                    var call = calls[i] ?? PartialCall()
                    if let n = piece.function?.name { call.name += n }
                    if let a = piece.function?.arguments { call.arguments += a }
                    calls[i] = call
                }
            }
            if choice.finishReason != nil { finished = true }
        }
        return finished ? finish(release: false) : .hold
    }

    mutating func finish(release: Bool) -> Step {
        done = true
        if release || calls.isEmpty { return .release }
        for i in calls.keys.sorted() {
            let c = calls[i]!
            if let bad = ToolCallCheck.judge(name: c.name, arguments: c.arguments, tools: tools) { return .judged(bad) }
        }
        return .judged(nil)
    }

    // MARK: the fields read from a chunk

    struct Chunk: Decodable {
        struct Choice: Decodable {
            struct Delta: Decodable {
                struct ToolCall: Decodable {
                    var index: Int?
                    var function: ToolCallCheck.FunctionCall?
                }
                var content: String?
                var reasoningContent: String?
                var toolCalls: [ToolCall]?
                var functionCall: ToolCallCheck.FunctionCall?
                init(from d: any Decoder) throws {
                    let c = try d.container(keyedBy: CodingKeys.self)
                    content = try? c.decodeIfPresent(String.self, forKey: .content)
                    reasoningContent = try? c.decodeIfPresent(String.self, forKey: .reasoningContent)
                    toolCalls = try c.decodeIfPresent([ToolCall].self, forKey: .toolCalls)
                    functionCall = try? c.decodeIfPresent(ToolCallCheck.FunctionCall.self, forKey: .functionCall)
                }
                enum CodingKeys: String, CodingKey {
                    case content
                    case reasoningContent = "reasoning_content"
                    case toolCalls = "tool_calls"
                    case functionCall = "function_call"
                }
            }
            var delta: Delta?
            var finishReason: String?
            enum CodingKeys: String, CodingKey {
                case delta
                case finishReason = "finish_reason"
            }
        }
        var choices: [Choice]?
    }
}
