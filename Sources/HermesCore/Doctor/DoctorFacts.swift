/// What `doctor` has to look up on the machine: processes, sockets, the network, the GPU. The CLI
/// answers with real probes (HermesCLI/DoctorProbes.swift); the checks in this folder judge the
/// answers, so each verdict is tested with plain values.
public protocol DoctorFacts: Sendable {
    /// The llama-server for a profile's `binary:` (or the override), run once with `--help`.
    func binary(_ profileBinary: String?) -> BinaryFact
    /// Who holds `host:port`, as far as this root's daemon and the kernel can tell.
    func port(host: String, port: Int) -> PortFact
    /// Whether a model of `settings` fits the memory it would use; nil when it cannot be judged.
    func fit(_ settings: LlamaServerSettings) -> FitVerdict?
    /// The pid of this root's own running server for `profile`, when one runs.
    func runningServer(_ profile: String) -> Int32?
    /// `GET {base_url}/models` with the profile's key and headers.
    func models(_ settings: OpenAISettings, key: String?) async -> RemoteAnswer
    /// HELLO and GET_DEVICE_MEMORY to an RPC worker (RPCChecks.swift has a default for fakes).
    func rpcWorker(host: String, port: Int) async -> RPCWorkerFact
    /// Whether a main's model fits over its workers' free memory and this box's (RPCChecks.swift has a
    /// default for fakes).
    func splitFit(_ settings: LlamaServerSettings, workers: [WorkerMemory]) -> SplitFitVerdict?
}

/// A llama-server binary, as found and run.
public enum BinaryFact: Sendable {
    case runs(path: String, dialect: LlamaServerDialect)
    case broken(path: String, error: String)
    case missing(error: String)
}

/// Who holds a port.
public enum PortFact: Sendable, Equatable {
    case free
    /// One of this root's servers (from the daemon's status).
    case ourServer(profile: String, pid: Int32)
    /// This root's daemon's front.
    case ourFront(daemonPid: Int32)
    /// Something else; `holder` names it when `ss` can (`llama-server (pid 123)`).
    case taken(holder: String?)
}

/// What a remote's `/models` said.
public enum RemoteAnswer: Sendable, Equatable {
    /// No HTTP answer: `reason` for a person (`no answer in time`, `connection refused`).
    case failed(url: String, reason: String)
    /// An HTTP status and, for a 200, the model ids it listed.
    case answered(url: String, status: Int, modelIDs: [String])
}
