import ArgumentParser
import Foundation
import HermesCore

/// `hermes-runtime config validate`: every problem at once, as file:line:column: message [key].
struct ConfigValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate runtime.yaml and runtimes/*.yaml; exit non-zero on any error."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    func run() async throws {
        let paths = global.paths()
        guard FileManager.default.fileExists(atPath: paths.configRoot.path) else {
            throw CLIError("no config root at \(paths.configRoot.path)", hint: "run `hermes-runtime init` or pass --config DIR", code: "no_config_root")
        }
        let (config, diagnostics) = ConfigLoader.validate(paths: paths)
        let errors = diagnostics.filter { $0.severity == .error }
        let failed = !errors.isEmpty || (strict && !diagnostics.isEmpty)
        if global.json {
            struct Out: Encodable {
                var ok: Bool
                var configRoot: String
                var profiles: [String]
                var diagnostics: [ConfigDiagnostic]
            }
            printJSON(Out(ok: !failed, configRoot: paths.configRoot.path, profiles: config?.profileNames ?? [], diagnostics: diagnostics))
        } else {
            for d in diagnostics { print(d.description) }
            let names = config?.profileNames ?? []
            if failed {
                print("\(errors.count) error(s), \(diagnostics.count - errors.count) warning(s) in \(paths.configRoot.path)")
            } else {
                print("ok: \(names.count) profile(s) in \(paths.configRoot.path): \(names.joined(separator: ", "))"
                      + (diagnostics.isEmpty ? "" : " (\(diagnostics.count) warning(s))"))
            }
        }
        if failed { throw ExitCode(1) }
    }
}
