import Foundation

/// The flags one llama-server build accepts, learned from its own `--help`.
///
/// llama-server's flag set moves fast (`--mlock` became `--load-mode`, `--slots` became a boolean), so the
/// command line is built for the binary in use instead of from a fixed list.
public struct LlamaServerDialect: Sendable, Equatable, Codable {
    /// Whether a flag takes a value after it.
    public enum Arity: String, Sendable, Codable {
        case none
        case required
        /// `[on|off|auto]`: takes the next argument when it is not a flag (so a bare `-fa` swallows it).
        case optional
    }

    /// Every spelling (`-np`, `--parallel`) to its arity.
    public var flags: [String: Arity]
    /// The build's version line (`version: 11434 (abc123)`), when known.
    public var version: String?
    /// The placeholder of `--spec-type` (`none,draft-simple,...`): the speculative kinds this build has.
    public var specTypeList: String?

    public init(flags: [String: Arity], version: String? = nil, specTypeList: String? = nil) {
        self.flags = flags
        self.version = version
        self.specTypeList = specTypeList
    }

    /// Current builds: memory locking is `--load-mode`, `--mlock` is gone.
    public var hasLoadMode: Bool { flags["--load-mode"] != nil }
    public var hasMlockFlag: Bool { flags["--mlock"] != nil }
    public var hasNoMmapFlag: Bool { flags["--no-mmap"] != nil }

    public func accepts(_ flag: String) -> Bool { flags[flag] != nil }

    /// A short name for messages: `current (--load-mode)` or `old (--mlock)`.
    public var summary: String {
        let kind = hasLoadMode ? "current (--load-mode)" : hasMlockFlag ? "old (--mlock)" : "unknown"
        return version.map { "\(kind), \($0)" } ?? kind
    }

    /// Parses `llama-server --help`. A flag line starts at column 0 with `-`; its names are separated by
    /// `, ` and followed by placeholders (`N`, `MODE`, `[on|off|auto]`); the description starts after a gap.
    public static func parse(help: String, version: String? = nil) -> LlamaServerDialect {
        var flags: [String: Arity] = [:]
        var specTypes: String?
        for rawLine in help.split(separator: "\n", omittingEmptySubsequences: true) {
            guard rawLine.first == "-" else { continue }
            // `-t,    --threads N      text`: close the gap after commas, then cut at the description gap.
            var line = String(rawLine)
            while let r = line.range(of: #",\s{2,}"#, options: .regularExpression) { line.replaceSubrange(r, with: ", ") }
            let spec = line.range(of: #"\s{2,}"#, options: .regularExpression).map { String(line[..<$0.lowerBound]) } ?? line
            var names: [String] = []
            var arity = Arity.none
            for token in spec.split(separator: " ") {
                let t = token.hasSuffix(",") ? token.dropLast() : token[...]
                if t.hasPrefix("-"), t.count > 1, !t.dropFirst().allSatisfy({ $0.isNumber }) {
                    names.append(String(t))
                } else if !t.isEmpty {
                    arity = t.hasPrefix("[") ? .optional : .required
                    if names.contains("--spec-type"), t.contains(",") { specTypes = String(t) }
                    break
                }
            }
            for n in names where flags[n] == nil { flags[n] = arity }
        }
        return LlamaServerDialect(flags: flags, version: version, specTypeList: specTypes)
    }

    /// A problem with an argument list, found before launch rather than as a dead process.
    public struct ArgumentProblem: Sendable, Equatable, CustomStringConvertible {
        public var argument: String
        public var message: String
        public var hint: String?
        public var description: String {
            hint.map { "\(message); \($0)" } ?? message
        }
    }

    /// Known renames and traps, as hints for a flag this build does not take the way it was written.
    static func hint(for flag: String, dialect: LlamaServerDialect) -> String? {
        switch flag {
        case "--mlock":
            return dialect.hasLoadMode
                ? "this build locks memory with --load-mode mlock: write `mlock: true` in the profile instead"
                : "write `mlock: true` in the profile instead"
        case "--no-mmap", "--mmap":
            return dialect.hasLoadMode ? "this build uses --load-mode none|mmap: write `mmap: false` in the profile" : nil
        case "--slots":
            return "--slots only turns the /slots endpoint on or off; the slot count is -np/--parallel (write `slots: N` in the profile)"
        case "--gpu-layers", "--n-gpu-layers": return "write `gpu_layers:` in the profile"
        default: return nil
        }
    }

    /// Checks raw arguments against this build: unknown flags, a value after a flag that takes none,
    /// a flag missing its value.
    public func check(arguments: [String]) -> [ArgumentProblem] {
        var problems: [ArgumentProblem] = []
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            guard Self.looksLikeFlag(arg) else {
                problems.append(ArgumentProblem(argument: arg, message: "'\(arg)' is not a flag and follows no flag that takes a value"))
                continue
            }
            var name = arg
            var inlineValue = false
            if let eq = arg.firstIndex(of: "="), arg.hasPrefix("--") {
                name = String(arg[..<eq])
                inlineValue = true
            }
            guard let arity = flags[name] else {
                var message = "\(name) is not accepted by this llama-server"
                if let version { message += " (\(version))" }
                if Self.hint(for: name, dialect: self) == nil, let near = closestMatch(to: name, in: Array(flags.keys)) {
                    message += "; did you mean \(near)?"
                }
                problems.append(ArgumentProblem(argument: name, message: message, hint: Self.hint(for: name, dialect: self)))
                continue
            }
            switch arity {
            case .none:
                if inlineValue {
                    problems.append(ArgumentProblem(argument: name, message: "\(name) takes no value", hint: Self.hint(for: name, dialect: self)))
                } else if i < arguments.count, !Self.looksLikeFlag(arguments[i]) {
                    problems.append(ArgumentProblem(
                        argument: name, message: "\(name) takes no value, but '\(arguments[i])' follows it",
                        hint: Self.hint(for: name, dialect: self)))
                    i += 1
                }
            case .required:
                if !inlineValue {
                    if i < arguments.count { i += 1 } else {
                        problems.append(ArgumentProblem(argument: name, message: "\(name) needs a value"))
                    }
                }
            case .optional:
                if !inlineValue, i < arguments.count, !Self.looksLikeFlag(arguments[i]) { i += 1 }
            }
        }
        return problems
    }

    /// `-x`/`--xx` but not `-1` or `-0.5`.
    static func looksLikeFlag(_ s: String) -> Bool {
        guard s.hasPrefix("-"), s.count > 1 else { return false }
        return Double(s) == nil
    }
}
