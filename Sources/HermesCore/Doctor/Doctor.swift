import Foundation

/// `hermes-runtime doctor`: every check, in the order a person reads them, from the config and what
/// ``DoctorFacts`` looked up. The command parses its arguments, calls ``run(config:diagnostics:paths:only:environment:facts:)``
/// and prints the report.
public enum Doctor {
    /// The profiles a check of `only` covers: it and every profile its requests can move to (burst,
    /// fallback, transitively); all profiles when `only` is nil.
    public static func selection(_ config: HermesConfig, only: String?) -> [String] {
        guard let only, let p = config.profile(named: only) else { return config.profileNames }
        var selected = [p.name]
        var i = 0
        while i < selected.count {
            let q = config.profiles[selected[i]]
            for next in [q?.burst].compactMap({ $0 }) + (q?.fallback ?? []) where config.profiles[next] != nil && !selected.contains(next) {
                selected.append(next)
            }
            i += 1
        }
        return selected
    }

    /// Runs every check. `only` must name a profile of `config` (the command says "did you mean" first).
    public static func run(config: HermesConfig, diagnostics: [ConfigDiagnostic], paths: RuntimePaths, only: String?,
                           environment: [String: String], facts: some DoctorFacts) async -> DoctorReport {
        let selected = selection(config, only: only)
        let files = Set(selected.compactMap { config.profiles[$0]?.source.file } + [paths.runtimeFile.path])
        let relevant = diagnostics.filter { only == nil || files.contains($0.file) }

        var report = DoctorReport()
        let (chainChecks, configChecks) = ConfigChecks.diagnostics(relevant, root: paths.configRoot.path)
        report.checks += configChecks
        if !configChecks.contains(where: { $0.status == .fail }) {
            report.checks.append(DoctorCheck(.ok, "config", "\(paths.configRoot.path): \(config.profiles.count) profile(s) load without errors"))
        }
        let locals = selected.compactMap { config.profiles[$0] }.filter(\.isLocal)
        if locals.isEmpty, only == nil {
            report.checks.append(DoctorCheck(.ok, "llama-server", "not needed: no llama-server profile"))
        }
        report.checks += LocalChecks.all(locals, facts: facts)
        let remotes = selected.compactMap { config.profiles[$0] }.filter { !$0.isLocal }
        report.checks += await RemoteChecks.all(remotes, paths: paths, environment: environment, facts: facts)
        report.checks += await RPCChecks.all(selected.compactMap { config.profiles[$0] }, config: config, facts: facts)

        report.checks += chainChecks
        if chainChecks.isEmpty {
            let chains = ConfigChecks.chains(config, profiles: selected)
            if chains.isEmpty {
                report.checks.append(DoctorCheck(.ok, "chains", "no burst or fallback settings"))
            } else {
                for c in chains { report.checks.append(DoctorCheck(.ok, "chains", "\(c) (resolves, no cycle)")) }
            }
        }
        if only == nil {
            let front = config.runtime.front
            report.checks += ConfigChecks.front(front, environment: environment)
            report.checks.append(LocalChecks.port(host: front.host, port: front.port, subject: "front", profile: nil,
                                                  fact: facts.port(host: front.host, port: front.port),
                                                  fix: "stop what holds it, or change front.listen in runtime.yaml"))
        }
        return report
    }
}
