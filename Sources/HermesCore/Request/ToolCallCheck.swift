import Foundation

/// A tool call in a model's answer that the client could not run.
public struct BadToolCall: Sendable, Equatable, CustomStringConvertible {
    public enum Problem: String, Sendable, Equatable {
        /// The name is not among the request's tools.
        case unknownTool = "unknown_tool"
        /// The arguments are not a JSON object.
        case invalidArguments = "invalid_arguments"
    }

    public var tool: String
    public var problem: Problem

    public init(tool: String, problem: Problem) {
        self.tool = tool
        self.problem = problem
    }

    /// For logs: the tool's name is the request's own vocabulary, never prompt text; it is cut short.
    public var description: String { "\(problem.rawValue) (\(tool.prefix(64)))" }
}

/// Judges the tool calls in an answer against the tools the request offered (the seed article's
/// "promote the task to cloud burst when a local subagent fails tool validation").
///
/// Everything is decoded with typed `Decodable` values: a field of an unexpected type makes that one
/// value unreadable (`try?`), never a trap. An answer that cannot be read at all has no tool call to judge.
public enum ToolCallCheck {
    /// The first bad call in a whole (non-streamed) answer of `api`, nil when every call is good or the
    /// answer has none.
    public static func check(answer: Data, api: AgentAPI, tools: Set<String>) -> BadToolCall? {
        let decoder = JSONDecoder()
        switch api {
        case .chat:
            guard let a = try? decoder.decode(ChatAnswer.self, from: answer) else { return nil }
            for choice in a.choices ?? [] {
                for call in choice.message?.toolCalls ?? [] {
                    if let bad = judge(name: call.function?.name, arguments: call.function?.arguments, tools: tools) { return bad }
                }
                if let f = choice.message?.functionCall, let bad = judge(name: f.name, arguments: f.arguments, tools: tools) {
                    return bad
                }
            }
        case .responses:
            guard let a = try? decoder.decode(ResponsesAnswer.self, from: answer) else { return nil }
            for item in a.output ?? [] where item.type == "function_call" {
                if let bad = judge(name: item.name, arguments: item.arguments, tools: tools) { return bad }
            }
        case .messages:
            guard let a = try? decoder.decode(MessagesAnswer.self, from: answer) else { return nil }
            for block in a.content ?? [] where block.type == "tool_use" {
                // Anthropic's `input` is already an object in the answer; a non-object fails to decode.
                guard let name = block.name, !name.isEmpty else { return BadToolCall(tool: "", problem: .unknownTool) }
                if !tools.contains(name) { return BadToolCall(tool: name, problem: .unknownTool) }
                if !block.inputIsObject { return BadToolCall(tool: name, problem: .invalidArguments) }
            }
        }
        return nil
    }

    /// One call: the name must be offered, the arguments a JSON object (an empty string counts as `{}`,
    /// which some servers send for a call without parameters).
    public static func judge(name: String?, arguments: String?, tools: Set<String>) -> BadToolCall? {
        let n = name ?? ""
        if n.isEmpty || !tools.contains(n) { return BadToolCall(tool: n, problem: .unknownTool) }
        let args = arguments ?? ""
        if args.allSatisfy(\.isWhitespace) { return nil }
        guard let data = args.data(using: .utf8), (try? JSONDecoder().decode(JSONObjectProbe.self, from: data)) != nil else {
            return BadToolCall(tool: n, problem: .invalidArguments)
        }
        return nil
    }

    // MARK: typed shapes (only the fields judged)

    struct FunctionCall: Decodable {
        var name: String?
        var arguments: String?
        init(from d: any Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            name = try? c.decodeIfPresent(String.self, forKey: .name)
            arguments = try? c.decodeIfPresent(String.self, forKey: .arguments)
        }
        enum CodingKeys: String, CodingKey { case name, arguments }
    }

    struct ChatAnswer: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable {
                struct ToolCall: Decodable { var function: FunctionCall? }
                var toolCalls: [ToolCall]?
                var functionCall: FunctionCall?
                enum CodingKeys: String, CodingKey {
                    case toolCalls = "tool_calls"
                    case functionCall = "function_call"
                }
            }
            var message: Message?
        }
        var choices: [Choice]?
    }

    struct ResponsesAnswer: Decodable {
        struct Item: Decodable {
            var type: String?
            var name: String?
            var arguments: String?
            init(from d: any Decoder) throws {
                let c = try d.container(keyedBy: CodingKeys.self)
                type = try? c.decodeIfPresent(String.self, forKey: .type)
                name = try? c.decodeIfPresent(String.self, forKey: .name)
                arguments = try? c.decodeIfPresent(String.self, forKey: .arguments)
            }
            enum CodingKeys: String, CodingKey { case type, name, arguments }
        }
        var output: [Item]?
    }

    struct MessagesAnswer: Decodable {
        struct Block: Decodable {
            var type: String?
            var name: String?
            var inputIsObject: Bool
            init(from d: any Decoder) throws {
                let c = try d.container(keyedBy: CodingKeys.self)
                type = try? c.decodeIfPresent(String.self, forKey: .type)
                name = try? c.decodeIfPresent(String.self, forKey: .name)
                inputIsObject = (try? c.decode(JSONObjectProbe.self, forKey: .input)) != nil
            }
            enum CodingKeys: String, CodingKey { case type, name, input }
        }
        var content: [Block]?
    }

    /// Decodes only when the value is a JSON object (any members); JSONDecoder checks the syntax.
    struct JSONObjectProbe: Decodable {
        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        init(from d: any Decoder) throws { _ = try d.container(keyedBy: AnyKey.self) }
    }
}
