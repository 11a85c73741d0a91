import Foundation

/// Where something was written, for messages that point at it.
public struct SourceLocation: Sendable, Equatable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public init(file: String, line: Int? = nil) {
        self.file = file
        self.line = line
    }
    public var description: String { line.map { "\(file):\($0)" } ?? file }
}

/// A named runtime profile, one `runtimes/NAME.yaml` each.
public struct Profile: Sendable, Equatable, Codable {
    public enum Kind: Sendable, Equatable, Codable {
        case llamaServer(LlamaServerSettings)
        case openai(OpenAISettings)
        /// A supervised `ggml-rpc-server`: a worker lending its device to a llama-server (Profile+RPC.swift).
        case rpcWorker(RPCWorkerSettings)
    }

    public var name: String
    public var description: String?
    public var kind: Kind
    public var source: SourceLocation
    /// What its tokens cost (`price:`); nil: unpriced, counted in tokens only, never shown as $0.
    public var price: Price?
    /// Its spending limit per day and month (`budget:`), enforced for remote profiles.
    public var budget: BudgetLimit?

    public init(name: String, description: String? = nil, kind: Kind, source: SourceLocation) {
        self.name = name
        self.description = description
        self.kind = kind
        self.source = source
    }

    public var kindName: String {
        switch kind {
        case .llamaServer: return "llama-server"
        case .openai: return "openai"
        case .rpcWorker: return "rpc-worker"
        }
    }

    public var llamaServer: LlamaServerSettings? {
        if case .llamaServer(let s) = kind { return s }
        return nil
    }

    public var openai: OpenAISettings? {
        if case .openai(let s) = kind { return s }
        return nil
    }

    /// True for a profile this machine serves itself (a supervised llama-server).
    public var isLocal: Bool { llamaServer != nil }

    /// Where requests for this profile go when it cannot take them: a local profile's `burst`.
    public var burst: String? { llamaServer?.burst }

    /// The next profiles to try when this one fails: a remote profile's `fallback` list.
    public var fallback: [String] { openai?.fallback ?? [] }
}

/// A supervised llama-server. Every field is optional in the file: unset fields inherit from the
/// profile named by `extends`, then take the defaults documented in `docs/configuration.md`.
public struct LlamaServerSettings: Sendable, Equatable, Codable {
    public var binary: String?
    public var model: String?
    public var host: String?
    public var port: Int?
    /// Total context (`-c`); llama-server divides it between slots.
    public var context: Int?
    public var predict: Int?
    public var threads: Int?
    /// Parallel slots (`-np`), never `--slots`, which is a boolean in current builds.
    public var slots: Int?
    public var mlock: Bool?
    public var mmap: Bool?
    /// `all`, `auto` or a layer count.
    public var gpuLayers: String?
    /// `on`, `off` or `auto`.
    public var flashAttn: String?
    /// KV cache element type (`f16`, `q8_0`, `q4_0`): `-ctk`/`-ctv`, and the memory estimate.
    public var cacheType: String?
    public var alias: String?
    /// Extra raw arguments, checked against the binary's own `--help` before launch.
    public var args: [String]?
    /// Environment merged over the daemon's own (HIP_VISIBLE_DEVICES, ROCM_PATH, ...).
    public var env: [String: String]?
    public var health: HealthSettings?
    public var restart: RestartSettings?
    /// Profile that takes requests this one cannot serve (down, context, overflow, error).
    public var burst: String?
    /// Burst when prompt tokens + output reserve exceed this, even if the slot would hold more.
    public var contextOver: Int?
    /// Tokens held back for the answer when judging whether a prompt fits (caps `max_tokens`).
    public var outputReserve: Int?
    /// How long a request may wait for a free slot before it overflows to the burst profile.
    public var queueWait: Double?
    /// When the server runs: started by a person (`manual`), with the daemon (`always`), or on the first
    /// request that needs it (`on-demand`).
    public var load: LoadMode?
    /// Seconds without a request after which an on-demand server is unloaded; 0 = never.
    public var idleUnload: Double?
    /// Never evicted to make room for another model.
    public var pinned: Bool?
    /// What a request does while its on-demand model loads.
    public var whileLoading: WhileLoading?
    /// Multimodal projector (`--mmproj PATH`): with it the server can see images.
    public var mmproj: String?
    /// Says the model can see without an `mmproj` (a model with its projector built in).
    public var vision: Bool?
    /// The APIs this server is asked to answer (default: all three llama-server speaks).
    public var apis: [AgentAPI]?
    /// Retry an answer with a bad tool call once on the burst profile (reason `bad_tool_call`).
    public var promoteBadToolCalls: Bool?
    /// Save slots' prompt caches before the server stops and restore them on demand (`warm_cache`).
    public var warmCache: Bool?
    /// llama-server's host-RAM prompt cache in MiB (`--cache-ram`; -1 unlimited, 0 off).
    public var cacheRAM: Int?
    /// Speculative decoding (`speculative:`), written to this build's `--spec-*` flags.
    public var speculative: SpeculativeSettings?
    /// RPC workers the model is spread over (`--rpc`): rpc-worker profile names or `host:port`.
    public var rpc: [String]?
    /// `rpc` resolved to addresses by the loader (never read from the file), in `--rpc` order.
    public var rpcEndpoints: [RPCEndpoint]?

    public init() {}

    /// Longest `idle_unload` accepted: a week. Beyond it "never" (0) says what is meant.
    public static let maxIdleUnload: Double = 7 * 24 * 3600
    /// `idle_unload` of an on-demand profile that sets none (Ollama keeps 5 minutes, llama-swap forever;
    /// a big model reloads in tens of seconds, so a quarter of an hour between agent turns is cheap).
    public static let defaultIdleUnload: Double = 15 * 60

    public var effectiveLoad: LoadMode { load ?? .manual }
    public var effectivePinned: Bool { pinned ?? false }
    /// Idle seconds before unload; 0 (never) for servers that are not on demand.
    public var effectiveIdleUnload: Double {
        effectiveLoad == .onDemand ? (idleUnload ?? Self.defaultIdleUnload) : 0
    }
    /// `burst` only when there is a burst profile to send to; otherwise requests wait.
    public var effectiveWhileLoading: WhileLoading {
        burst == nil ? .wait : (whileLoading ?? .wait)
    }

    public var effectiveHost: String { host ?? "127.0.0.1" }
    public var effectiveOutputReserve: Int { outputReserve ?? 1024 }
    public var effectiveQueueWait: Double { queueWait ?? 0.25 }
    public var effectiveHealth: ResolvedHealth { (health ?? HealthSettings()).resolved }
    public var effectiveRestart: ResolvedRestart { (restart ?? RestartSettings()).resolved }

    /// Fields set here win; unset ones come from `parent`. Env maps merge key by key.
    public func inheriting(from parent: LlamaServerSettings) -> LlamaServerSettings {
        var m = self
        m.binary = binary ?? parent.binary
        m.model = model ?? parent.model
        m.host = host ?? parent.host
        m.port = port ?? parent.port
        m.context = context ?? parent.context
        m.predict = predict ?? parent.predict
        m.threads = threads ?? parent.threads
        m.slots = slots ?? parent.slots
        m.mlock = mlock ?? parent.mlock
        m.mmap = mmap ?? parent.mmap
        m.gpuLayers = gpuLayers ?? parent.gpuLayers
        m.flashAttn = flashAttn ?? parent.flashAttn
        m.cacheType = cacheType ?? parent.cacheType
        m.alias = alias ?? parent.alias
        m.args = args ?? parent.args
        if let p = parent.env { m.env = p.merging(env ?? [:]) { _, own in own } }
        m.health = health.map { $0.inheriting(from: parent.health) } ?? parent.health
        m.restart = restart.map { $0.inheriting(from: parent.restart) } ?? parent.restart
        m.burst = burst ?? parent.burst
        m.contextOver = contextOver ?? parent.contextOver
        m.outputReserve = outputReserve ?? parent.outputReserve
        m.queueWait = queueWait ?? parent.queueWait
        m.load = load ?? parent.load
        m.idleUnload = idleUnload ?? parent.idleUnload
        m.pinned = pinned ?? parent.pinned
        m.whileLoading = whileLoading ?? parent.whileLoading
        m.mmproj = mmproj ?? parent.mmproj
        m.vision = vision ?? parent.vision
        m.apis = apis ?? parent.apis
        m.promoteBadToolCalls = promoteBadToolCalls ?? parent.promoteBadToolCalls
        m.warmCache = warmCache ?? parent.warmCache
        m.cacheRAM = cacheRAM ?? parent.cacheRAM
        m.speculative = speculative ?? parent.speculative
        m.rpc = rpc ?? parent.rpc
        return m
    }
}

/// When a local profile's server runs (`load:`).
public enum LoadMode: String, Sendable, Equatable, Codable, CaseIterable {
    /// Started by `hermes-runtime start`, stopped by `stop` (the default: nothing changes by itself).
    case manual
    /// Started with the daemon.
    case always
    /// Started by the first request that needs it, unloaded after `idle_unload`, evictable for room.
    case onDemand = "on-demand"
}

/// What a request does while its on-demand model loads (`while_loading:`).
public enum WhileLoading: String, Sendable, Equatable, Codable, CaseIterable {
    /// Wait for the load, bounded by `health.startup_timeout`.
    case wait
    /// Go to the burst profile (reason `loading`) while the model comes up for the next request.
    case burst
}

/// How the supervisor decides a server is ready and alive.
public struct HealthSettings: Sendable, Equatable, Codable {
    /// Readiness endpoint, `/health` (503 while loading, 200 when ready).
    public var path: String?
    /// Seconds between liveness probes once ready.
    public var interval: Double?
    /// Seconds one probe may take before it counts as failed (a hang).
    public var timeout: Double?
    /// Seconds the model may take to load before the start counts as failed.
    public var startupTimeout: Double?
    /// Consecutive failed probes before the server is restarted.
    public var failures: Int?
    /// Seconds between tiny real generations (`max_tokens: 1`); `/health` alone can say 200 while
    /// every completion fails. 0 turns the generation probe off.
    public var generationInterval: Double?
    /// Seconds a generation probe may take before the server counts as stuck (a main whose RPC worker
    /// vanished hangs here while `/health` still says 200).
    public var generationTimeout: Double?

    public init() {}

    func inheriting(from parent: HealthSettings?) -> HealthSettings {
        guard let parent else { return self }
        var m = self
        m.path = path ?? parent.path
        m.interval = interval ?? parent.interval
        m.timeout = timeout ?? parent.timeout
        m.startupTimeout = startupTimeout ?? parent.startupTimeout
        m.failures = failures ?? parent.failures
        m.generationInterval = generationInterval ?? parent.generationInterval
        m.generationTimeout = generationTimeout ?? parent.generationTimeout
        return m
    }

    /// Every field set: the profile's value, else the default (written here and in
    /// docs/configuration.md, nowhere else).
    public var resolved: ResolvedHealth {
        ResolvedHealth(path: path ?? "/health", interval: interval ?? 5, timeout: timeout ?? 3,
                       startupTimeout: startupTimeout ?? 300, failures: failures ?? 3,
                       generationInterval: generationInterval ?? 60, generationTimeout: generationTimeout ?? 30)
    }
}

/// `HealthSettings` with its defaults applied: what the supervisor and the checks read.
public struct ResolvedHealth: Sendable, Equatable {
    public var path: String
    public var interval: Double
    public var timeout: Double
    public var startupTimeout: Double
    public var failures: Int
    public var generationInterval: Double
    public var generationTimeout: Double
}

/// When and how often a dead or wedged server is restarted.
public struct RestartSettings: Sendable, Equatable, Codable {
    public var enabled: Bool?
    /// Delays before successive restarts, in seconds; the last repeats.
    public var backoff: [Double]?
    /// Restarts allowed within `window` before the profile is marked failed.
    public var maxRestarts: Int?
    /// Seconds over which restarts are counted; a server up this long earns its budget back.
    public var window: Double?

    public init() {}

    func inheriting(from parent: RestartSettings?) -> RestartSettings {
        guard let parent else { return self }
        var m = self
        m.enabled = enabled ?? parent.enabled
        m.backoff = backoff ?? parent.backoff
        m.maxRestarts = maxRestarts ?? parent.maxRestarts
        m.window = window ?? parent.window
        return m
    }

    /// Every field set: the profile's value, else the default (written here and in
    /// docs/configuration.md, nowhere else).
    public var resolved: ResolvedRestart {
        ResolvedRestart(enabled: enabled ?? true, backoff: (backoff?.isEmpty == false ? backoff : nil) ?? [1, 5, 15, 60],
                        maxRestarts: maxRestarts ?? 5, window: window ?? 600)
    }
}

/// `RestartSettings` with its defaults applied: what `RestartTracker` reads.
public struct ResolvedRestart: Sendable, Equatable {
    public var enabled: Bool
    /// Never empty.
    public var backoff: [Double]
    public var maxRestarts: Int
    public var window: Double
}

/// An OpenAI-compatible remote (a cloud provider, or any server speaking `/v1/chat/completions`).
public struct OpenAISettings: Sendable, Equatable, Codable {
    /// e.g. `https://openrouter.ai/api/v1` — requests go to `base_url + /chat/completions`.
    public var baseURL: String?
    /// The NAME of the environment variable holding the key; the key itself is never stored.
    public var apiKeyEnv: String?
    /// The model sent upstream in place of the client's.
    public var model: String?
    /// The remote's context window in tokens.
    public var context: Int?
    /// Profiles tried in order when this one answers 429, 5xx or cannot be reached.
    public var fallback: [String]?
    /// Seconds a profile is skipped after a 429 without Retry-After, or after a failure.
    public var cooldown: Double?
    /// Seconds to wait for the first byte of an answer.
    public var timeout: Double?
    /// Consecutive failures (5xx, refused, timeout) within `failureWindow` before it cools down.
    public var cooldownAfter: Int?
    /// Seconds over which those failures count as one streak.
    public var failureWindow: Double?
    /// Extra headers sent upstream (e.g. OpenRouter's `HTTP-Referer`).
    public var headers: [String: String]?
    /// The APIs the provider offers under `base_url` (default `[chat]`; Anthropic's own API: `[messages]`).
    public var apis: [AgentAPI]?
    /// The remote model can see images.
    public var vision: Bool?

    public init() {}

    public var effectiveCooldown: Double { cooldown ?? 30 }
    public var effectiveTimeout: Double { timeout ?? 120 }
    public var effectiveCooldownAfter: Int { cooldownAfter ?? 3 }
    public var effectiveFailureWindow: Double { failureWindow ?? 60 }

    public func inheriting(from parent: OpenAISettings) -> OpenAISettings {
        var m = self
        m.baseURL = baseURL ?? parent.baseURL
        m.apiKeyEnv = apiKeyEnv ?? parent.apiKeyEnv
        m.model = model ?? parent.model
        m.context = context ?? parent.context
        m.fallback = fallback ?? parent.fallback
        m.cooldown = cooldown ?? parent.cooldown
        m.timeout = timeout ?? parent.timeout
        m.cooldownAfter = cooldownAfter ?? parent.cooldownAfter
        m.failureWindow = failureWindow ?? parent.failureWindow
        if let p = parent.headers { m.headers = p.merging(headers ?? [:]) { _, own in own } }
        m.apis = apis ?? parent.apis
        m.vision = vision ?? parent.vision
        return m
    }
}
