import AsyncHTTPClient
import Foundation
import HermesCore
import HermesDaemon
import HermesGPU
import HermesSupervisor
import NIOCore
import Synchronization

/// `doctor`'s look at the machine: runs llama-server `--help` (cached per binary), asks the kernel and
/// this root's daemon who holds a port, asks each remote for `/models`, reads the GPU pool once. The
/// verdicts are HermesCore's (``Doctor``).
final class DoctorProbes: DoctorFacts {
    let paths: RuntimePaths
    let override: String?
    let environment: [String: String]
    let daemon: DaemonStatus?
    let gpu: GPUFit?
    let timeout: Double
    private let binaries = Mutex<[String: BinaryFact]>([:])

    init(paths: RuntimePaths, override: String?, environment: [String: String], daemon: DaemonStatus?, gpu: GPUFit?, timeout: Double) {
        self.paths = paths
        self.override = override
        self.environment = environment
        self.daemon = daemon
        self.gpu = gpu
        self.timeout = timeout
    }

    /// Gathers what every check shares: the daemon's status (if it runs) and, when a local profile is
    /// checked, the GPU pool (sysfs only: a one-shot look needs none of rocm_smi's library state).
    static func make(paths: RuntimePaths, override: String?, environment: [String: String], needsGPU: Bool, timeout: Double) async -> DoctorProbes {
        let daemon = try? await ControlClient(paths: paths).call(.GET, "/v1/status", as: DaemonStatus.self, timeout: 3)
        var gpu: GPUFit?
        if needsGPU {
            let monitor = GPUMonitor.forProcess(environment: environment, preference: .sysfs)
            gpu = await monitor.fit()
            await monitor.close()
        }
        return DoctorProbes(paths: paths, override: override, environment: environment, daemon: daemon, gpu: gpu, timeout: timeout)
    }

    func binary(_ profileBinary: String?) -> BinaryFact {
        let path: String
        do {
            path = try BinaryLocator.resolve(profileBinary: profileBinary, override: override, environment: environment)
        } catch {
            return .missing(error: "\(error)")
        }
        if let known = binaries.withLock({ $0[path] }) { return known }
        let fact: BinaryFact
        do {
            fact = .runs(path: path, dialect: try DialectProbe(cacheDirectory: paths.dialectCacheDirectory).dialect(of: path))
        } catch {
            fact = .broken(path: path, error: "\(error)")
        }
        binaries.withLock { $0[path] = fact }
        return fact
    }

    func port(host: String, port: Int) -> PortFact {
        if PortCheck.isFree(host: host, port: port) { return .free }
        if let daemon {
            if let s = daemon.servers.first(where: { $0.port == port && $0.pid != nil && $0.phase != .stopped }), let pid = s.pid {
                return .ourServer(profile: s.profile, pid: pid)
            }
            if let front = daemon.front, front.contains(":\(port)/") || front.hasSuffix(":\(port)") {
                return .ourFront(daemonPid: daemon.pid)
            }
        }
        return .taken(holder: PortCheck.holder(port: port))
    }

    func fit(_ settings: LlamaServerSettings) -> FitVerdict? {
        ModelFit.verdict(settings: settings, gpu: gpu, systemAvailableBytes: try? MemInfo.availableBytes())
    }

    func splitFit(_ settings: LlamaServerSettings, workers: [WorkerMemory]) -> SplitFitVerdict? {
        ModelFit.splitVerdict(settings: settings, gpu: gpu, systemAvailableBytes: try? MemInfo.availableBytes(), workers: workers)
    }

    func runningServer(_ profile: String) -> Int32? {
        daemon?.servers.first { $0.profile == profile && $0.pid != nil && $0.phase != .stopped }?.pid
    }

    func rpcWorker(host: String, port: Int) async -> RPCWorkerFact {
        switch await RPCClient.ask(host: host, port: port, timeout: min(max(timeout, 0.1), 10)) {
        case .success(let a): return .answered(a.version, a.memory)
        case .failure(let f): return .failed(f.description)
        }
    }

    func models(_ s: OpenAISettings, key: String?) async -> RemoteAnswer {
        let url = (s.baseURL ?? "") + "/models"
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        for (k, v) in s.headers ?? [:] { request.headers.add(name: k, value: v) }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(min(max(timeout, 0.1), 3600) * 1000)))
            let body = try await response.body.collect(upTo: 32 << 20)
            return .answered(url: url, status: Int(response.status.code), modelIDs: RemoteChecks.modelIDs(Data(body.readableBytesView)))
        } catch let e as HTTPClientError where e == .deadlineExceeded {
            return .failed(url: url, reason: "no answer in time")
        } catch let e as HTTPClientError where e == .connectTimeout {
            return .failed(url: url, reason: "connect timed out")
        } catch {
            return .failed(url: url, reason: String(describing: error))
        }
    }
}
