import ArgumentParser
import Foundation
import HermesCore
import HermesGPU

/// `hermes-runtime doctor [PROFILE] [--json]`: one line per check (ok / warn / fail) with a fix; exit 1
/// when anything failed. The checks are HermesCore's (`Doctor`); DoctorProbes looks at the machine.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the config, llama-server, models, ports, keys and remotes; exit 1 if anything failed.",
        discussion: """
            Checks: the config validates; llama-server is found, runs, and its dialect; every local profile's \
            flags are accepted by that build; model files exist with a GGUF header; ports are free or held by \
            this root's own servers; no llama-server is reachable beyond loopback without a key; each \
            api_key_env is set (values never shown); each remote answers GET base_url/models and lists the \
            profile's model; burst and fallback chains end; the front's address and auth are sane. With \
            PROFILE: that profile and the profiles its requests can move to.
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
            throw CLIError("no config root at \(paths.configRoot.path)", hint: "run `hermes-runtime init` or pass --config DIR", code: "no_config_root")
        }
        let (loaded, diagnostics) = ConfigLoader.validate(paths: paths)
        guard let config = loaded else { throw CLIError("cannot load \(paths.configRoot.path)") }
        let only = try profile.map { try config.requireProfile($0, paths: paths).name }
        let needsGPU = Doctor.selection(config, only: only).contains { config.profiles[$0]?.isLocal == true }
        let probes = await DoctorProbes.make(paths: paths, override: llamaServer, environment: env, needsGPU: needsGPU, timeout: timeout)
        var report = await Doctor.run(config: config, diagnostics: diagnostics, paths: paths, only: only, environment: env, facts: probes)
        if needsGPU { report.checks.append(Self.gpuLibrary) }

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

    /// Which GPU source the daemon will read, and why: librocm_smi64 loaded at run time, or sysfs.
    static var gpuLibrary: DoctorCheck {
        switch GPUMonitor.libraryStatus {
        case .success(let found):
            return DoctorCheck(.ok, "gpu", "rocm_smi: \(found)")
        case .failure(let why):
            return DoctorCheck(.warn, "gpu", "rocm_smi: \(why.message); GPU memory is read from amdgpu's sysfs files instead",
                               fix: why.hint)
        }
    }
}
