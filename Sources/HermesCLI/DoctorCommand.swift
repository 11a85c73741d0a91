import ArgumentParser
import AsyncHTTPClient
import Foundation
import HermesCore
import HermesDaemon
import HermesGPU
import HermesSupervisor
import NIOCore
import NIOHTTP1

/// `hermes-runtime doctor [PROFILE] [--json]`: one line per check (ok / warn / fail) with a fix; exit 1
/// when anything failed.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the config, llama-server, models, ports, keys and remotes; exit 1 if anything failed.",
        discussion: """
            Checks: the config validates; llama-server is found, runs, and its dialect; every local profile's \
            flags are accepted by that build; model files exist with a GGUF header; ports are free or held by \
            this root's own servers; each api_key_env is set (values never shown); each remote answers \
            GET base_url/models and lists the profile's model; burst and fallback chains end; the front's \
            address and auth are sane. With PROFILE: that profile and the profiles its requests can move to.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Check only this profile (and its burst/fallback chain).")
    var profile: String?

    @Option(name: .customLong("llama-server"), help: "Check this llama-server binary for every profile (also $HERMES_RUNTIME_LLAMA_SERVER).")
    var llamaServer: String?

    @Option(help: "Seconds to wait for each remote's /models.")
    var timeout: Double = 3

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let paths = global.paths()
        guard FileManager.default.fileExists(atPath: paths.configRoot.path) else {
            throw CLIError("no config root at \(paths.configRoot.path)", hint: "run `hermes-runtime init` or pass --config DIR")
        }
        let (loaded, diagnostics) = ConfigLoader.validate(paths: paths)
        guard let config = loaded else { throw CLIError("cannot load \(paths.configRoot.path)") }

        // Which profiles: all, or the named one and everything its requests can move to.
        var selected = config.profileNames
        if let profile {
            guard let p = config.profile(named: profile) else {
                throw CLIError("no profile '\(profile)' in \(paths.profilesDirectory.path)",
                               hint: closestMatch(to: profile, in: config.profileNames).map { "did you mean '\($0)'?" }
                                   ?? "profiles: \(config.profileNames.joined(separator: ", "))")
            }
            selected = [p.name]
            var i = 0
            while i < selected.count {
                let q = config.profiles[selected[i]]
                for next in [q?.burst].compactMap({ $0 }) + (q?.fallback ?? []) where config.profiles[next] != nil && !selected.contains(next) {
                    selected.append(next)
                }
                i += 1
            }
        }
        let files = Set(selected.compactMap { config.profiles[$0]?.source.file } + [paths.runtimeFile.path])
        let relevant = diagnostics.filter { profile == nil || files.contains($0.file) }

        var report = DoctorReport()
        let (chainChecks, configChecks) = ConfigChecks.diagnostics(relevant, root: paths.configRoot.path)
        report.checks += configChecks
        if !configChecks.contains(where: { $0.status == .fail }) {
            report.checks.append(DoctorCheck(.ok, "config", "\(paths.configRoot.path): \(config.profiles.count) profile(s) load without errors"))
        }

        let daemon = try? await ControlClient(paths: paths).call(.GET, "/v1/status", as: DaemonStatus.self, timeout: 3)
        let locals = selected.compactMap { config.profiles[$0] }.filter(\.isLocal)
        // sysfs only: a one-shot look needs none of rocm_smi's library state, and reports the same pools.
        let gpu = locals.isEmpty ? nil : await { () async -> GPUFit? in
            let monitor = GPUMonitor.forProcess(environment: env, preference: .sysfs)
            let fit = await monitor.fit()
            await monitor.close()
            return fit
        }()
        report.checks += localChecks(locals, paths: paths, daemon: daemon, gpu: gpu, environment: env)

        let remotes = selected.compactMap { config.profiles[$0] }.filter { !$0.isLocal }
        report.checks += await remoteChecks(remotes, paths: paths, environment: env)

        report.checks += chainChecks
        if chainChecks.isEmpty {
            let chains = ConfigChecks.chains(config, profiles: selected)
            if chains.isEmpty {
                report.checks.append(DoctorCheck(.ok, "chains", "no burst or fallback settings"))
            } else {
                for c in chains { report.checks.append(DoctorCheck(.ok, "chains", "\(c) (resolves, no cycle)")) }
            }
        }

        if profile == nil {
            let front = config.runtime.front
            report.checks += ConfigChecks.front(front, environment: env)
            report.checks.append(portCheck(host: front.host, port: front.port, subject: "front", profile: nil, daemon: daemon,
                                           fix: "stop what holds it, or change front.listen in runtime.yaml"))
        }

        if global.json {
            struct Out: Encodable {
                var ok: Bool
                var configRoot: String
                var summary: String
                var checks: [DoctorCheck]
            }
            printJSON(Out(ok: !report.failed, configRoot: paths.configRoot.path, summary: report.summary, checks: report.checks))
        } else {
            for c in report.checks { print(c.line) }
            print(report.summary)
        }
        if report.failed { throw ExitCode(1) }
    }

    // MARK: local profiles

    func localChecks(_ locals: [Profile], paths: RuntimePaths, daemon: DaemonStatus?, gpu: GPUFit?,
                     environment: [String: String]) -> [DoctorCheck] {
        var out: [DoctorCheck] = []
        guard !locals.isEmpty else {
            if profile == nil { out.append(DoctorCheck(.ok, "llama-server", "not needed: no llama-server profile")) }
            return out
        }
        let probe = DialectProbe(cacheDirectory: paths.dialectCacheDirectory)
        // One binary usually serves every profile: report and probe each distinct one once.
        var binaries: [String: Result<(String, LlamaServerDialect), CLIError>] = [:]
        for p in locals {
            let s = p.llamaServer!
            let key: String
            do {
                let path = try BinaryLocator.resolve(profileBinary: s.binary, override: llamaServer, environment: environment)
                key = path
                if binaries[key] == nil {
                    do {
                        let dialect = try probe.dialect(of: path)
                        binaries[key] = .success((path, dialect))
                        out.append(DoctorCheck(.ok, "llama-server", "\(path) runs"))
                        out.append(DoctorCheck(.ok, "dialect", "\(dialect.summary) (\(dialect.flags.count) flags)"))
                    } catch {
                        binaries[key] = .failure(CLIError("\(error)"))
                        out.append(DoctorCheck(.fail, "llama-server", profile: p.name, "\(path) was found but does not run: \(error)",
                                               fix: "rebuild it (scripts/setup.sh for a CPU build); keep its lib*.so beside it"))
                    }
                }
            } catch {
                key = "not found: \(s.binary ?? "llama-server")"
                if binaries[key] == nil {
                    binaries[key] = .failure(CLIError("\(error)"))
                    out.append(DoctorCheck(.fail, "llama-server", profile: p.name, "\(error)",
                                           fix: "set `binary:` in runtimes/\(p.name).yaml or HERMES_RUNTIME_LLAMA_SERVER, or run scripts/setup.sh"))
                }
            }
            if case .success(let (path, dialect)) = binaries[key]! {
                out += flagChecks(p, settings: s, executable: path, dialect: dialect)
            }
            let model = modelCheck(p, settings: s)
            out.append(model)
            if model.status == .ok, let fit = fitCheck(p, settings: s, daemon: daemon, gpu: gpu) { out.append(fit) }
            if let port = s.port {
                out.append(portCheck(host: s.effectiveHost, port: port, subject: "port", profile: p.name, daemon: daemon,
                                     fix: "stop what holds it, or change `port:` in runtimes/\(p.name).yaml"))
            }
        }
        return out
    }

    /// The profile's command line on this build: raw `args` problems with their hint, then the rest.
    func flagChecks(_ p: Profile, settings s: LlamaServerSettings, executable: String, dialect: LlamaServerDialect) -> [DoctorCheck] {
        var out: [DoctorCheck] = []
        let argProblems = dialect.check(arguments: s.args ?? [])
        for a in argProblems {
            out.append(DoctorCheck(.fail, "flags", profile: p.name, "args: \(a.message)",
                                   fix: a.hint ?? "remove \(a.argument) from `args:` (`hermes-runtime start \(p.name) --dry-run` shows the command line)"))
        }
        let reported = Set(argProblems.map { "args: \($0.description)" })
        do {
            let command = try LlamaServerCommand.build(profile: p.name, settings: s, executable: executable, dialect: dialect)
            if argProblems.isEmpty {
                out.append(DoctorCheck(.ok, "flags", profile: p.name, "accepted by this build: \(command.arguments.map(shellQuote).joined(separator: " "))"))
            }
        } catch let e as CommandBuildError {
            for problem in e.problems where !reported.contains(problem) {
                let fix = problem.contains("already set")
                    ? "set it in one place in runtimes/\(p.name).yaml (profile keys: docs/configuration.md)"
                    : "remove the key from runtimes/\(p.name).yaml, or use a newer llama-server"
                out.append(DoctorCheck(.fail, "flags", profile: p.name, problem, fix: fix))
            }
        } catch {
            out.append(DoctorCheck(.fail, "flags", profile: p.name, "\(error)"))
        }
        return out
    }

    /// The model file exists and reads as GGUF (header, metadata and tensor table, through HermesCore's
    /// reader: a truncated download or an HTML page saved as `.gguf` is told apart from a model).
    func modelCheck(_ p: Profile, settings s: LlamaServerSettings) -> DoctorCheck {
        guard let model = s.model else {
            return DoctorCheck(.fail, "model", profile: p.name, "no `model:` set", fix: "set `model:` in runtimes/\(p.name).yaml to a .gguf file")
        }
        guard FileManager.default.fileExists(atPath: model) else {
            return DoctorCheck(.fail, "model", profile: p.name, "\(model) does not exist",
                               fix: "download the model there, or point `model:` in runtimes/\(p.name).yaml at a .gguf file")
        }
        do {
            let file = try GGUFReader().read(path: model)
            let arch = file["general.architecture"]?.string.map { ", \($0)" } ?? ""
            return DoctorCheck(.ok, "model", profile: p.name, "\(model): GGUF v\(file.version)\(arch), \(formatByteCount(file.fileSize))")
        } catch {
            return DoctorCheck(.fail, "model", profile: p.name, "\(model): \(error.message)",
                               fix: "download it again (a GGUF model starts with the bytes \"GGUF\" and a version 1-3)")
        }
    }

    /// Weights + KV cache + overhead (HermesCore's estimate) against the pool the model will use: GTT or
    /// VRAM on an AMD GPU, else system memory. Skipped while our own server for the profile runs, since
    /// its memory is already taken from what is free.
    func fitCheck(_ p: Profile, settings s: LlamaServerSettings, daemon: DaemonStatus?, gpu: GPUFit?) -> DoctorCheck? {
        if let running = daemon?.servers.first(where: { $0.profile == p.name && $0.pid != nil && $0.phase != .stopped }) {
            return DoctorCheck(.ok, "fit", profile: p.name, "running (pid \(running.pid!)): its memory is already in use")
        }
        guard let verdict = ModelFit.verdict(settings: s, gpu: gpu, systemAvailableBytes: try? MemInfo.availableBytes()) else { return nil }
        return verdict.fits
            ? DoctorCheck(.ok, "fit", profile: p.name, verdict.message)
            : DoctorCheck(.fail, "fit", profile: p.name, verdict.message,
                          fix: verdict.hint ?? "lower `context:` or use a smaller model in runtimes/\(p.name).yaml")
    }

    /// Free, or held by this root's own daemon (a server of ours, or our front): both are fine.
    func portCheck(host: String, port: Int, subject: String, profile name: String?, daemon: DaemonStatus?, fix: String) -> DoctorCheck {
        let address = "\(host):\(port)"
        if PortCheck.isFree(host: host, port: port) {
            return DoctorCheck(.ok, subject, profile: name, "\(address) is free")
        }
        if let daemon {
            if let s = daemon.servers.first(where: { $0.port == port && $0.pid != nil && $0.phase != .stopped }) {
                if s.profile == name || name == nil {
                    return DoctorCheck(.ok, subject, profile: name, "\(address) is held by our own server for \(s.profile) (pid \(s.pid!))")
                }
                return DoctorCheck(.warn, subject, profile: name, "\(address) is held by our server for \(s.profile) (pid \(s.pid!))",
                                   fix: "`hermes-runtime stop \(s.profile)` before starting \(name ?? "this")")
            }
            if name == nil, let front = daemon.front, front.contains(":\(port)/") || front.hasSuffix(":\(port)") {
                return DoctorCheck(.ok, subject, "\(address) is held by our own daemon's front (pid \(daemon.pid))")
            }
        }
        let holder = PortCheck.holder(port: port).map { "by \($0)" } ?? "by another process"
        return DoctorCheck(.fail, subject, profile: name, "\(address) is in use \(holder)", fix: fix)
    }

    // MARK: remote profiles

    func remoteChecks(_ remotes: [Profile], paths: RuntimePaths, environment: [String: String]) async -> [DoctorCheck] {
        var keyChecks: [String: DoctorCheck] = [:]
        for p in remotes {
            guard let s = p.openai else { continue }
            if let variable = s.apiKeyEnv {
                keyChecks[p.name] = (environment[variable] ?? "").isEmpty
                    ? DoctorCheck(.fail, "key", profile: p.name, "\(variable) is not set: the remote will refuse requests",
                                  fix: "export \(variable)=... (for the service: \(paths.configRoot.path)/keys.env)")
                    : DoctorCheck(.ok, "key", profile: p.name, "\(variable) is set (value not shown)")
            } else if let base = s.baseURL, !isLoopbackURL(base) {
                keyChecks[p.name] = DoctorCheck(.warn, "key", profile: p.name, "no api_key_env: requests go without Authorization",
                                                fix: "set `api_key_env:` in runtimes/\(p.name).yaml to the variable holding the key")
            }
        }
        // Every remote at once: on a machine that is offline, the whole check takes one timeout.
        let reach = await withTaskGroup(of: (String, DoctorCheck?).self) { group in
            for p in remotes {
                guard let s = p.openai else { continue }
                let key = s.apiKeyEnv.flatMap { environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
                let timeout = self.timeout
                group.addTask { (p.name, await Self.reachability(p.name, settings: s, key: key, timeout: timeout)) }
            }
            var out: [String: DoctorCheck] = [:]
            for await (name, check) in group { out[name] = check }
            return out
        }
        var out: [DoctorCheck] = []
        for p in remotes {
            if let k = keyChecks[p.name] { out.append(k) }
            if let r = reach[p.name] ?? nil { out.append(r) }
        }
        return out
    }

    /// `GET {base_url}/models`: reachable, key accepted, model listed.
    static func reachability(_ name: String, settings s: OpenAISettings, key: String?, timeout: Double) async -> DoctorCheck? {
        guard let base = s.baseURL else { return nil }
        let url = base + "/models"
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        for (k, v) in s.headers ?? [:] { request.headers.add(name: k, value: v) }
        let status: UInt
        let body: ByteBuffer
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            status = response.status.code
            body = try await response.body.collect(upTo: 32 << 20)
        } catch {
            return DoctorCheck(.warn, "remote", profile: name, "GET \(url) failed: \(describe(error))",
                               fix: "check base_url and the network (until it answers, requests for \(name) fail or go to its fallback)")
        }
        switch status {
        case 200:
            // OpenAI's shape: `{"data": [{"id": ...}]}` (llama-server adds an Ollama-style `models` list beside it).
            struct Models: Decodable {
                struct Model: Decodable { var id: String? }
                var data: [Model]?
            }
            let ids = ((try? JSONDecoder().decode(Models.self, from: Data(body.readableBytesView)))?.data ?? []).compactMap(\.id)
            guard let model = s.model else {
                return DoctorCheck(.ok, "remote", profile: name, "\(url) answers (\(ids.count) model(s) listed)")
            }
            if ids.contains(model) {
                return DoctorCheck(.ok, "remote", profile: name, "\(url) answers and lists \(model)")
            }
            return DoctorCheck(.warn, "remote", profile: name, "\(url) answers but does not list \(model) among \(ids.count) model(s)",
                               fix: "check `model:` in runtimes/\(name).yaml against the provider's model names")
        case 401, 403:
            return DoctorCheck(.fail, "remote", profile: name, "\(url) refused the key (HTTP \(status))",
                               fix: s.apiKeyEnv.map { "check the key in \($0)" } ?? "set `api_key_env:` in runtimes/\(name).yaml")
        default:
            return DoctorCheck(.warn, "remote", profile: name, "\(url) answered HTTP \(status)",
                               fix: "check base_url (requests go to base_url/chat/completions)")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? HTTPClientError {
            if e == .deadlineExceeded { return "no answer in time" }
            if e == .connectTimeout { return "connect timed out" }
        }
        return String(describing: error)
    }

    func isLoopbackURL(_ base: String) -> Bool {
        let host = URL(string: base)?.host ?? ""
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}
