import Foundation

/// `runtime.yaml`: the front, its routing rules, and where logs go.
public struct RuntimeSettings: Sendable, Equatable, Codable {
    public var front: FrontSettings
    public var logs: LogSettings
    public var daemon: DaemonSettings
    /// `kv_cache:`: the disk budget and age of saved prompt caches (nil: the defaults).
    public var kvCache: KVCacheSettings?
    public var source: SourceLocation
    /// `budgets:` (total, per source, warn_at).
    public var budgets = BudgetSettings()

    public init(front: FrontSettings = FrontSettings(), logs: LogSettings = LogSettings(), daemon: DaemonSettings = DaemonSettings(),
                source: SourceLocation) {
        self.front = front
        self.logs = logs
        self.daemon = daemon
        self.source = source
    }
}

/// `daemon:` in runtime.yaml: how long the daemon's absence and its shutdown may last.
public struct DaemonSettings: Sendable, Equatable, Codable {
    /// Seconds a server's keeper waits for a daemon to come back before it stops the server itself.
    public var lease: Int = 60
    /// Seconds a stop waits for requests in flight before it cuts them and stops the servers.
    public var drainTimeout: Int = 30
    public init() {}
}

/// The OpenAI-compatible routing front.
public struct FrontSettings: Sendable, Equatable, Codable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8082
    /// NAME of the variable holding the bearer key clients must send; unset = no auth (loopback only).
    public var apiKeyEnv: String?
    /// The profile for requests no explicit choice or route claims.
    public var defaultProfile: String?
    /// Extra model names that mean a profile (`model: gemma` -> `coding-local`).
    public var aliases: [String: String] = [:]
    /// First match wins; explicit routes come before those made from `platforms:` / `by_source:`.
    public var routes: [Route] = []
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes: Int = 32 << 20
    /// Web pages (`scheme://host[:port]`) that may call the front besides its own address.
    public var allowedOrigins: [String] = []
    /// Names besides loopback, address literals and the listen address that `Host` may carry.
    public var allowedHosts: [String] = []

    public init() {}
}

/// Size-bounded logs: a file is rotated when it passes `maxBytes`, `keep` old ones are kept.
public struct LogSettings: Sendable, Equatable, Codable {
    public var maxBytes: Int = 10 << 20
    public var keep: Int = 3
    public init() {}
}

/// One routing rule: when every condition in `match` holds, send to `profile` or take `action`.
public struct Route: Sendable, Equatable, Codable {
    public enum Target: Sendable, Equatable, Codable {
        case profile(String)
        /// Answer 409 with the reason; never forwarded.
        case confirm(reason: String?)
    }

    public var match: RouteMatch
    public var target: Target
    /// A label for receipts and `route --explain` (defaults to the rule's position).
    public var name: String?
    public var source: SourceLocation

    public init(match: RouteMatch, target: Target, name: String? = nil, source: SourceLocation) {
        self.match = match
        self.target = target
        self.name = name
        self.source = source
    }
}

/// Conditions of a route. An unset condition always holds; a set one must hold.
public struct RouteMatch: Sendable, Equatable, Codable {
    /// Any of these platforms (`X-Hermes-Platform` or body `metadata.platform`).
    public var platform: [String]?
    /// Any of these source kinds (`X-Hermes-Source` or `metadata.source_kind`).
    public var sourceKind: [String]?
    /// At least one of these toolsets is in the request's toolsets (`X-Hermes-Toolsets`).
    public var toolsetsAny: [String]?
    /// The goal (`X-Hermes-Goal` / `metadata.goal`) matches one of these patterns (case-insensitive).
    public var goalMatches: [String]?
    /// The request's `model` is one of these.
    public var model: [String]?
    /// The request carries (or does not carry) tool definitions.
    public var hasTools: Bool?
    /// The prompt text matches one of these patterns (case-insensitive regular expressions).
    public var promptMatches: [String]?

    public init() {}

    public var isEmpty: Bool {
        platform == nil && sourceKind == nil && toolsetsAny == nil && goalMatches == nil && model == nil
            && hasTools == nil && promptMatches == nil
    }
}

/// Everything loaded from one config root.
public struct HermesConfig: Sendable, Equatable {
    public var paths: RuntimePaths
    public var runtime: RuntimeSettings
    /// By name, sorted for stable output.
    public var profiles: [String: Profile]
    /// Warnings found while loading (errors make loading fail).
    public var warnings: [ConfigDiagnostic]

    public init(paths: RuntimePaths, runtime: RuntimeSettings, profiles: [String: Profile], warnings: [ConfigDiagnostic] = []) {
        self.paths = paths
        self.runtime = runtime
        self.profiles = profiles
        self.warnings = warnings
    }

    public var profileNames: [String] { profiles.keys.sorted() }

    /// A profile by name or by front alias.
    public func profile(named name: String) -> Profile? {
        if let p = profiles[name] { return p }
        if let target = runtime.front.aliases[name] { return profiles[target] }
        return nil
    }
}
