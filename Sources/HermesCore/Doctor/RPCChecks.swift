import Foundation

/// What a worker answered to HELLO (and GET_DEVICE_MEMORY) for `doctor`, or why it did not.
public enum RPCWorkerFact: Sendable, Equatable {
    case answered(RPCVersion, RPCDeviceMemory?)
    case failed(String)
}

extension DoctorFacts {
    /// Fakes that do not model workers answer nothing; the real probe (HermesCLI) asks over TCP.
    public func rpcWorker(host: String, port: Int) async -> RPCWorkerFact { .failed("not probed") }
    public func splitFit(_ settings: LlamaServerSettings, workers: [WorkerMemory]) -> SplitFitVerdict? { nil }
}

/// Checks of RPC workers: an rpc-worker off loopback is a warning (no authentication, no encryption),
/// and every worker a selected main names is asked its version and free memory, unless the main runs
/// (a worker serves one client: a probe would only wait behind the main).
public enum RPCChecks {
    public static func all(_ selected: [Profile], config: HermesConfig, facts: some DoctorFacts) async -> [DoctorCheck] {
        var out: [DoctorCheck] = []
        for p in selected {
            guard let w = p.rpcWorker else { continue }
            if !IPv4Literal.isLoopback(w.effectiveAddress) {
                out.append(DoctorCheck(.warn, "rpc", profile: p.name,
                                       "listens on \(w.effectiveAddress):\(w.effectivePort), off loopback: the RPC protocol has no authentication and no encryption",
                                       fix: "keep that address on a link only your machines reach (a direct cable, USB4 networking, WireGuard)"))
            }
        }
        for p in selected {
            guard let s = p.llamaServer, let endpoints = s.rpcEndpoints, !endpoints.isEmpty else { continue }
            if facts.runningServer(p.name) != nil {
                out.append(DoctorCheck(.ok, "rpc", profile: p.name, "running with \(endpoints.count) worker(s): \(endpoints.map(\.description).joined(separator: ", ")) (busy serving it, not probed)"))
                continue
            }
            var memory: [WorkerMemory] = []
            for e in endpoints {
                let fact = await facts.rpcWorker(host: e.host, port: e.port)
                out.append(judge(p.name, e, fact))
                memory.append(workerMemory(e, fact))
            }
            if let verdict = facts.splitFit(s, workers: memory) {
                out.append(verdict.fits
                    ? DoctorCheck(.ok, "fit", profile: p.name, verdict.message)
                    : DoctorCheck(.fail, "fit", profile: p.name, verdict.message, fix: verdict.hint ?? "lower `context:`"))
            }
        }
        return out
    }

    /// One worker's free memory as a main's fit check counts it (0 with the reason when it did not say).
    public static func workerMemory(_ e: RPCEndpoint, _ fact: RPCWorkerFact) -> WorkerMemory {
        let name = WorkerMemory.name(of: e)
        switch fact {
        case .answered(_, let m?): return WorkerMemory(name: name, freeBytes: m.free)
        case .answered(_, nil): return WorkerMemory(name: name, failure: "no memory answer")
        case .failed(let why): return WorkerMemory(name: name, failure: why)
        }
    }

    /// One worker's answer, as a check of the main that names it.
    public static func judge(_ main: String, _ e: RPCEndpoint, _ fact: RPCWorkerFact, ours: RPCVersion = RPCProtocol.ours) -> DoctorCheck {
        let who = "rpc worker \(e.description) (\(e.address))"
        switch fact {
        case .failed(let why):
            return DoctorCheck(.fail, "rpc", profile: main, "\(who): \(why)",
                               fix: e.profile.map { "`hermes-runtime start \($0)` (or start \(main), which starts it)" }
                                   ?? "start hermes-runtime on that box with an rpc-worker profile (load: always)")
        case .answered(let v, let memory):
            guard v.isCompatible(with: ours) else {
                return DoctorCheck(.fail, "rpc", profile: main, "\(who) speaks RPC protocol \(v), this llama-server speaks \(ours): llama-server would abort",
                                   fix: "run the same llama.cpp build on every box")
            }
            let mem = memory.map { " \(ByteCount.format($0.free)) free of \(ByteCount.format($0.total))" } ?? ""
            return DoctorCheck(.ok, "rpc", profile: main, "\(who) answers, protocol \(v)\(mem.isEmpty ? "" : ",")\(mem)")
        }
    }
}
