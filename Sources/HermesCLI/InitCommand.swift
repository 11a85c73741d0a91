import ArgumentParser
import Foundation
import HermesCore
import HermesGPU
import HermesSupervisor

/// `hermes-runtime init [--preset strix-halo|cpu|hosted] [--yes]`: writes a starting config for this
/// machine, after saying what it detected and what it assumed.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write runtime.yaml and runtimes/*.yaml for this machine from a preset.",
        discussion: """
            Presets: strix-halo (a local model on the gfx1151 GPU, cloud burst, a cheap cloud tier), cpu (the \
            small test model on CPU; runs anywhere), hosted (cloud profiles only). Default: strix-halo when an \
            AMD GPU is found, else cpu. Existing files are backed up first (`hermes-runtime config backups`); \
            on a terminal you are asked before they are overwritten unless --yes is given.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("strix-halo, cpu or hosted (default: strix-halo with an AMD GPU, else cpu).", valueName: "PRESET"))
    var preset: String?

    @Flag(name: [.long, .customShort("y")], help: "Overwrite existing files without asking (they are still backed up).")
    var yes = false

    @Option(name: .customLong("llama-server"), help: "The llama-server binary to detect (default: PATH and the known places).")
    var llamaServer: String?

    @Option(name: .customLong("sysfs-root"), help: ArgumentHelp("Read the GPU from this sysfs tree instead of /sys.", visibility: .hidden))
    var sysfsRoot: String?

    func validate() throws {
        if let preset, ConfigPreset(rawValue: preset) == nil {
            throw ValidationError("--preset wants one of: \(ConfigPreset.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// What init found on this machine.
    struct Detected: Encodable {
        var gpu: String?
        var gpuMemory: String?
        var llamaServer: String?
        var llamaServerProblem: String?
        var dialect: String?
        var models: [String]
        var apiKeysSet: [String]
    }

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let paths = global.paths()
        var lines: [String] = []  // what we say, printed unless --json
        func say(_ s: String) { lines.append(s) }

        // Detection: say what was found and what that means for the files.
        var detected = Detected(models: [], apiKeysSet: [])
        let (gpu, gpuReason) = await detectGPU()
        detected.gpu = gpu?.name
        detected.gpuMemory = gpu?.memory
        say(gpu.map { "AMD GPU: \($0.name)\($0.memory.map { ", \($0)" } ?? "")" } ?? "AMD GPU: none found (\(gpuReason ?? "no amdgpu device in sysfs"))")

        var foundBinary: String?
        do {
            foundBinary = try BinaryLocator.resolve(profileBinary: nil, override: llamaServer, environment: env)
            detected.llamaServer = foundBinary
            do {
                let dialect = try DialectProbe(cacheDirectory: paths.dialectCacheDirectory).dialect(of: foundBinary!)
                detected.dialect = dialect.summary
                say("llama-server: \(foundBinary!) (dialect: \(dialect.summary))")
            } catch {
                detected.llamaServerProblem = "\(error)"
                say("llama-server: \(foundBinary!), but it does not run: \(error)")
            }
        } catch {
            detected.llamaServerProblem = "not found"
            say("llama-server: not found on PATH or in the known places (scripts/setup.sh builds a CPU one; a ROCm build goes in /opt/llama.cpp-rocm)")
        }

        let home = env["HOME"] ?? NSHomeDirectory()
        let folders = ModelDiscovery.commonFolders(environment: env)
        let models = ModelDiscovery.find(in: folders)
        detected.models = models.map(\.path)
        if models.isEmpty {
            say("GGUF models: none in \(folders.joined(separator: ", "))")
        } else {
            say("GGUF models: \(models.count) found; largest: " + models.prefix(3).map { "\($0.path) (\(ByteCount.format($0.bytes)))" }.joined(separator: ", "))
        }

        let keys = env.filter { $0.key.hasSuffix("_API_KEY") && !$0.value.isEmpty }.keys.sorted()
        detected.apiKeysSet = keys
        say("API keys set: " + (keys.isEmpty ? "none (*_API_KEY)" : keys.joined(separator: ", ") + " (values not shown)"))

        // The preset, and what the detection changes in it.
        let chosen: ConfigPreset
        if let preset, let p = ConfigPreset(rawValue: preset) {
            chosen = p
            say("preset: \(p.rawValue) (asked for): \(p.summary)")
        } else {
            chosen = gpu != nil ? .strixHalo : .cpu
            say("preset: \(chosen.rawValue) (assumed: \(gpu != nil ? "an AMD GPU was found" : "no AMD GPU was found"); "
                + "--preset strix-halo|cpu|hosted to choose): \(chosen.summary)")
        }
        var options = PresetOptions()
        if chosen == .strixHalo {
            if let largest = models.first {
                options.localModel = ModelDiscovery.abbreviatingHome(largest.path, home: home)
                say("coding-local model: \(options.localModel!), the largest GGUF found (\(ByteCount.format(largest.bytes))); edit `model:` to pick another")
            } else {
                say("coding-local model: ~/.models/gemma-4-26b-q4_0.gguf (the article's; no GGUF found): put your model there or edit `model:`")
            }
            let templateBinary = "/opt/llama.cpp-rocm/bin/llama-server"
            if FileManager.default.isExecutableFile(atPath: templateBinary) {
                say("coding-local binary: \(templateBinary)")
            } else if let foundBinary {
                options.localBinary = foundBinary
                say("coding-local binary: \(foundBinary) (the one found; a ROCm build is what uses the GPU)")
            } else {
                say("coding-local binary: \(templateBinary) (assumed; it does not exist yet)")
            }
        }
        if chosen != .cpu {
            let wanted = ["OPENROUTER_API_KEY", "TOGETHER_API_KEY"]
            let missing = wanted.filter { (env[$0] ?? "").isEmpty }
            if !missing.isEmpty {
                say("cloud profiles read \(wanted.joined(separator: " and ")); not set here: \(missing.joined(separator: ", ")) "
                    + "(export them, or put them in \(paths.configRoot.path)/keys.env for the service)")
            }
        }

        // Writing: back up, ask only on a terminal, never silently overwrite.
        let rendered = chosen.render(options)
        let current = try ConfigSnapshot.read(from: paths)
        let overwrites = rendered.snapshot.relativePaths.filter { path in
            path == "runtime.yaml" ? current.runtime != nil : current.profiles[String(path.dropFirst("runtimes/".count))] != nil
        }
        if !overwrites.isEmpty, !yes, isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0, !global.json {
            lines.forEach { print($0) }
            lines = []
            print("\(paths.configRoot.path) already has \(overwrites.joined(separator: ", ")).")
            print("Overwrite them? A backup is made first. [y/N] ", terminator: "")
            flushStandardOutput()
            let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
            guard answer == "y" || answer == "yes" else {
                print("nothing written")
                return
            }
        }
        let backup = try backUpBeforeWriting(paths, reason: "init", detail: "before init --preset \(chosen.rawValue)")
        var written: [String] = []
        do {
            try FileManager.default.createDirectory(at: paths.profilesDirectory, withIntermediateDirectories: true)
            try Data(rendered.runtime.utf8).write(to: paths.runtimeFile, options: .atomic)
            written.append("runtime.yaml")
            for p in rendered.profiles {
                try Data(p.text.utf8).write(to: paths.profileFile(p.name), options: .atomic)
                written.append("runtimes/\(p.name).yaml")
            }
        } catch {
            throw CLIError("cannot write the config in \(paths.configRoot.path)",
                           hint: backup.map { "`hermes-runtime config restore \($0.id)` puts the previous files back" }, cause: "\(error)",
                           code: "cannot_write")
        }
        let kept = current.profiles.keys.sorted().filter { !rendered.profiles.map { "\($0.name).yaml" }.contains($0) }
        let (_, diagnostics) = ConfigLoader.validate(paths: paths)
        let errors = diagnostics.filter { $0.severity == .error }

        if global.json {
            struct Out: Encodable {
                var preset: String
                var configRoot: String
                var detected: Detected
                var written: [String]
                var keptAsTheyAre: [String]
                var backup: String?
                var diagnostics: [ConfigDiagnostic]
            }
            printJSON(Out(preset: chosen.rawValue, configRoot: paths.configRoot.path, detected: detected, written: written,
                          keptAsTheyAre: kept.map { "runtimes/\($0)" }, backup: backup?.id, diagnostics: diagnostics))
        } else {
            lines.forEach { print($0) }
            if let backup {
                print("backed up the previous config as \(backup.id) (undo: hermes-runtime config restore \(backup.id))")
            }
            print("wrote \(written.count) file(s) in \(paths.configRoot.path): \(written.joined(separator: ", "))")
            if !kept.isEmpty { print("left as they are: \(kept.map { "runtimes/\($0)" }.joined(separator: ", "))") }
            for d in diagnostics { print(d.description) }
            let first = rendered.profiles.first.map(\.name) ?? ""
            print("next: hermes-runtime doctor" + (chosen == .hosted ? "; hermes-runtime serve" : "; hermes-runtime start \(first)"))
        }
        if !errors.isEmpty {
            throw CLIError("the config written does not validate (\(errors.count) error(s) above)",
                           hint: backup.map { "fix the files, or `hermes-runtime config restore \($0.id)` to go back" }
                               ?? "fix the files above")
        }
    }

    /// The first AMD GPU, through HermesGPU's sysfs probe: a one-shot read needs none of rocm_smi's
    /// library state, and sysfs reports the same two pools.
    /// Nil and the reason when there is none.
    func detectGPU() async -> (found: (name: String, memory: String?)?, reason: String?) {
        let monitor = GPUMonitor(preference: .sysfs, sysfsRoot: sysfsRoot ?? "/sys")
        let report = try? await monitor.report()
        await monitor.close()
        guard let report, let d = report.devices.first else { 
            return (nil, report?.reason.map { $0.hasPrefix("no AMD GPU: ") ? String($0.dropFirst(12)) : $0 })
        }
        var parts: [String] = []
        if let v = d.vram { parts.append("VRAM \(ByteCount.format(v.totalBytes))") }
        if let g = d.gtt { parts.append("GTT \(ByteCount.format(g.totalBytes))") }
        if let pool = d.modelPool { parts.append("models go in \(pool.displayName)\(d.integrated ? " (an APU)" : "")") }
        return ((d.name, parts.isEmpty ? nil : parts.joined(separator: ", ")), nil)
    }
}
