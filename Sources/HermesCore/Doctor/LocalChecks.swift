import Foundation

/// Checks of llama-server profiles: the binary and its flag dialect, the command line, the model file,
/// the memory fit, the port, and whether the server is reachable beyond loopback without a key.
public enum LocalChecks {
    /// Every check of `locals`, each distinct binary reported once.
    public static func all(_ locals: [Profile], facts: some DoctorFacts) -> [DoctorCheck] {
        var out: [DoctorCheck] = []
        var reported = Set<String>()
        for p in locals {
            guard let s = p.llamaServer else { continue }
            let binary = facts.binary(s.binary)
            switch binary {
            case .runs(let path, let dialect):
                if reported.insert(path).inserted {
                    out.append(DoctorCheck(.ok, "llama-server", "\(path) runs"))
                    out.append(DoctorCheck(.ok, "dialect", "\(dialect.summary) (\(dialect.flags.count) flags)"))
                }
                out += flags(p, settings: s, executable: path, dialect: dialect)
            case .broken(let path, let error):
                if reported.insert(path).inserted {
                    out.append(DoctorCheck(.fail, "llama-server", profile: p.name, "\(path) was found but does not run: \(error)",
                                           fix: "rebuild it (scripts/setup.sh for a CPU build); keep its lib*.so beside it"))
                }
            case .missing(let error):
                if reported.insert("not found: \(s.binary ?? "llama-server")").inserted {
                    out.append(DoctorCheck(.fail, "llama-server", profile: p.name, error,
                                           fix: "set `binary:` in runtimes/\(p.name).yaml or HERMES_RUNTIME_LLAMA_SERVER, or run scripts/setup.sh"))
                }
            }
            let m = model(p, settings: s)
            out.append(m)
            // A main over RPC workers is judged with their memory (RPCChecks), not this box's alone.
            if m.status == .ok, (s.rpcEndpoints ?? []).isEmpty,
               let f = fit(p, runningPid: facts.runningServer(p.name), verdict: facts.fit(s)) { out.append(f) }
            if let port = s.port {
                out.append(self.port(host: s.effectiveHost, port: port, subject: "port", profile: p.name,
                                     fact: facts.port(host: s.effectiveHost, port: port),
                                     fix: "stop what holds it, or change `port:` in runtimes/\(p.name).yaml"))
            }
            if let exposure = ServerExposureCheck.check(p) { out.append(exposure) }
        }
        return out
    }

    /// The profile's command line on this build: raw `args` problems with their hint, then the rest.
    public static func flags(_ p: Profile, settings s: LlamaServerSettings, executable: String, dialect: LlamaServerDialect) -> [DoctorCheck] {
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

    /// The model file exists and reads as GGUF (header, metadata and tensor table): a truncated download
    /// or an HTML page saved as `.gguf` is told apart from a model.
    public static func model(_ p: Profile, settings s: LlamaServerSettings) -> DoctorCheck {
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
            return DoctorCheck(.ok, "model", profile: p.name, "\(model): GGUF v\(file.version)\(arch), \(ByteCount.format(file.fileSize))")
        } catch {
            return DoctorCheck(.fail, "model", profile: p.name, "\(model): \(error.message)",
                               fix: "download it again (a GGUF model starts with the bytes \"GGUF\" and a version 1-3)")
        }
    }

    /// Weights + KV cache + overhead against the pool the model will use. Skipped while our own server
    /// for the profile runs, since its memory is already taken from what is free.
    public static func fit(_ p: Profile, runningPid: Int32?, verdict: FitVerdict?) -> DoctorCheck? {
        if let pid = runningPid {
            return DoctorCheck(.ok, "fit", profile: p.name, "running (pid \(pid)): its memory is already in use")
        }
        guard let verdict else { return nil }
        return verdict.fits
            ? DoctorCheck(.ok, "fit", profile: p.name, verdict.message)
            : DoctorCheck(.fail, "fit", profile: p.name, verdict.message,
                          fix: verdict.hint ?? "lower `context:` or use a smaller model in runtimes/\(p.name).yaml")
    }

    /// Free, or held by this root's own daemon (a server of ours, or our front): both are fine.
    public static func port(host: String, port: Int, subject: String, profile name: String?, fact: PortFact, fix: String) -> DoctorCheck {
        let address = "\(host):\(port)"
        switch fact {
        case .free:
            return DoctorCheck(.ok, subject, profile: name, "\(address) is free")
        case .ourServer(let owner, let pid) where owner == name || name == nil:
            return DoctorCheck(.ok, subject, profile: name, "\(address) is held by our own server for \(owner) (pid \(pid))")
        case .ourServer(let owner, let pid):
            return DoctorCheck(.warn, subject, profile: name, "\(address) is held by our server for \(owner) (pid \(pid))",
                               fix: "`hermes-runtime stop \(owner)` before starting \(name ?? "this")")
        case .ourFront(let pid) where name == nil:
            return DoctorCheck(.ok, subject, "\(address) is held by our own daemon's front (pid \(pid))")
        case .ourFront:
            return DoctorCheck(.fail, subject, profile: name, "\(address) is in use by our own daemon's front", fix: fix)
        case .taken(let holder):
            return DoctorCheck(.fail, subject, profile: name, "\(address) is in use \(holder.map { "by \($0)" } ?? "by another process")", fix: fix)
        }
    }
}
