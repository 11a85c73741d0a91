import Foundation

/// The exact process a llama-server profile runs: executable, arguments, added environment.
public struct LlamaServerCommand: Sendable, Equatable, Codable {
    public var executable: String
    public var arguments: [String]
    /// Variables set on top of the daemon's own environment.
    public var environment: [String: String]
    public var host: String
    public var port: Int

    public init(executable: String, arguments: [String], environment: [String: String], host: String, port: Int) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.host = host
        self.port = port
    }

    /// `KEY=value ... /path/llama-server -m ...`, quoted for a POSIX shell.
    public var shellLine: String {
        let env = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\(shellQuote($0.value))" }
        return (env + [shellQuote(executable)] + arguments.map(shellQuote)).joined(separator: " ")
    }

    /// The environment the child gets: the daemon's, with the profile's variables over it.
    public func mergedEnvironment(over base: [String: String]) -> [String: String] {
        base.merging(environment) { _, own in own }
    }
}

/// Why a profile cannot be turned into a command line for this binary.
public struct CommandBuildError: Error, Sendable, CustomStringConvertible {
    public var profile: String
    public var problems: [String]
    public init(profile: String, problems: [String]) {
        self.profile = profile
        self.problems = problems
    }
    public var description: String {
        "profile '\(profile)' cannot run on this llama-server:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

extension CommandBuildError: UserFacingError {
    public var code: String { "unsupported_flags" }
    public var message: String { "profile '\(profile)' cannot run on this llama-server" }
    public var cause: String? { problems.joined(separator: "\n") }
    public var hint: String? { "update llama-server (`scripts/setup.sh` builds the pinned one), or drop what it lacks from the profile" }
}

extension LlamaServerCommand {
    /// Builds the command line for `profile` on a binary speaking `dialect`.
    ///
    /// `slots: 4` becomes `-np 4` (never `--slots 4`); `mlock: true` becomes `--load-mode mlock` (or
    /// `mmap+mlock` with `mmap: true`) on current builds and `--mlock` on old ones. Raw `args` are checked
    /// against the binary's `--help` so a rejected flag is reported here, not as a dead process.
    public static func build(
        profile name: String, settings s: LlamaServerSettings, executable: String, dialect: LlamaServerDialect,
        warm: WarmCacheLaunch? = nil
    ) throws -> LlamaServerCommand {
        var problems: [String] = []
        var args: [String] = []
        func add(_ flags: [String], _ value: String?) {
            guard let flag = flags.first(where: dialect.accepts) else {
                problems.append("this build has no \(flags.joined(separator: "/")) flag")
                return
            }
            args.append(flag)
            if let value { args.append(value) }
        }
        guard let model = s.model else { throw CommandBuildError(profile: name, problems: ["no model set"]) }
        guard let port = s.port else { throw CommandBuildError(profile: name, problems: ["no port set"]) }
        add(["-m", "--model"], model)
        add(["--host"], s.effectiveHost)
        add(["--port"], String(port))
        // The daemon reads tokens and queue depth from the server's own Prometheus endpoint
        // (`hermes_server_*` on the front's /metrics); it is off by default in llama-server.
        if dialect.accepts("--metrics"), !(s.args ?? []).contains("--metrics") { args.append("--metrics") }
        if let c = s.context { add(["-c", "--ctx-size"], String(c)) }
        if let n = s.predict { add(["-n", "--n-predict", "--predict"], String(n)) }
        if let t = s.threads { add(["-t", "--threads"], String(t)) }
        if let n = s.slots { add(["-np", "--parallel"], String(n)) }
        if let g = s.gpuLayers { add(["-ngl", "--gpu-layers", "--n-gpu-layers"], g == "all" && !dialect.acceptsAllLayers ? "999" : g) }
        if let f = s.flashAttn { add(["-fa", "--flash-attn"], f) }
        if let c = s.cacheType {
            add(["-ctk", "--cache-type-k"], c)
            add(["-ctv", "--cache-type-v"], c)
        }
        if let a = s.alias { add(["-a", "--alias"], a) }
        if let m = s.mmproj { add(["--mmproj", "-mm"], m) }
        if let r = s.cacheRAM { add(["--cache-ram", "-cram"], String(r)) }
        if let warm {
            add(["--slot-save-path"], warm.slotSavePath)
            // Without it a sliding-window model's restore is a silent no-op on b11434 (FACTS.md).
            if warm.swaFull { add(["--swa-full"], nil) }
            // With a unified KV an idle slot is moved to host RAM and cleared: a save would write 0 tokens.
            if dialect.accepts("--no-cache-idle-slots") { args.append("--no-cache-idle-slots") }
        }
        if let spec = s.speculative?.arguments(dialect: dialect) {
            problems += spec.problems
            for (flags, value) in spec.args { add(flags, value) }
        }
        if dialect.hasLoadMode {
            switch (s.mlock ?? false, s.mmap) {
            case (true, true?): add(["--load-mode", "-lm"], "mmap+mlock")
            case (true, _): add(["--load-mode", "-lm"], "mlock")
            case (false, false?): add(["--load-mode", "-lm"], "none")
            case (false, true?): add(["--load-mode", "-lm"], "mmap")
            case (false, nil): break
            }
        } else {
            if s.mlock == true { add(["--mlock"], nil) }
            if s.mmap == false { add(["--no-mmap"], nil) }
        }
        let extra = s.args ?? []
        if !(s.rpcEndpoints ?? []).isEmpty, !dialect.accepts("--rpc") { problems.append("rpc: this llama-server has no RPC backend (build it with -DGGML_RPC=ON: scripts/setup.sh does)") }
        args += rpcArguments(s.rpcEndpoints ?? [], extra: extra, cacheRAMSet: s.cacheRAM != nil)
        problems += dialect.check(arguments: extra).map { "args: \($0)" }
        // A raw arg that repeats a flag we build from a profile key is a conflict the server would
        // resolve silently (last one wins); say so instead.
        let built = Set(args.filter { $0.hasPrefix("-") })
        for a in extra where a.hasPrefix("-") {
            let flagName = a.split(separator: "=").first.map(String.init) ?? a
            if built.contains(flagName) { problems.append("args: \(flagName) is already set from a profile key; set it in one place") }
        }
        if !problems.isEmpty { throw CommandBuildError(profile: name, problems: problems) }
        return LlamaServerCommand(
            executable: executable, arguments: args + extra, environment: s.env ?? [:],
            host: s.effectiveHost, port: port)
    }
}

extension LlamaServerDialect {
    /// Current builds take `-ngl all`; older ones want a number.
    public var acceptsAllLayers: Bool { hasLoadMode }
}

/// Single-quotes a word for a POSIX shell when it needs it.
public func shellQuote(_ s: String) -> String {
    if !s.isEmpty, s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
