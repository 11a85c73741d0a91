import ArgumentParser
import Foundation
import HermesCore

/// `hermes-runtime import-hermes-profile DIR [--name NAME]`: a Hermes agent profile becomes a
/// `kind: openai` runtime profile; the key stays where it is and only its variable's name is recorded.
struct ImportHermesProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-hermes-profile",
        abstract: "Turn a Hermes agent profile (config.yaml + .env) into a kind: openai runtime profile.",
        discussion: """
            Reads DIR/config.yaml's model: block (provider, base_url, default, context_length, api_key) and \
            DIR/.env, and writes runtimes/NAME.yaml. A key is never copied: api_key: ${VAR} records VAR; a \
            literal key records the .env variable that holds the same value. The current config is backed up first.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The Hermes profile directory (holding config.yaml), e.g. ~/.hermes or ~/.hermes/profiles/work.")
    var directory: String

    @Option(help: "The runtime profile's name (default: the directory's name).")
    var name: String?

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let paths = global.paths()
        var dir = URL(fileURLWithPath: expandTilde(directory, home: env["HOME"] ?? NSHomeDirectory())).standardizedFileURL
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir) else {
            throw CLIError("\(dir.path) does not exist", hint: "pass the Hermes profile directory (the one holding config.yaml)")
        }
        // Accept the config.yaml itself as well as its directory.
        if !isDir.boolValue { dir.deleteLastPathComponent() }
        let configFile = dir.appendingPathComponent("config.yaml")
        guard let configData = FileManager.default.contents(atPath: configFile.path) else {
            throw CLIError("no config.yaml in \(dir.path)", hint: "a Hermes profile directory holds config.yaml (and .env)")
        }
        let dotenv = FileManager.default.contents(atPath: dir.appendingPathComponent(".env").path).map { String(decoding: $0, as: UTF8.self) }
        let profileName = name ?? HermesProfileImport.profileName(fromDirectory: dir.path)
        guard profileName.range(of: #"^[A-Za-z0-9][A-Za-z0-9._-]*$"#, options: .regularExpression) != nil else {
            throw CLIError("'\(profileName)' cannot be a profile name", hint: "letters, digits, '.', '_' and '-', starting with a letter or digit")
        }

        let result: HermesProfileImport.Result
        do {
            result = try HermesProfileImport.convert(configYAML: String(decoding: configData, as: UTF8.self), dotenv: dotenv,
                                                     name: profileName, source: dir.path, environment: env)
        } catch let e as HermesProfileImport.Failure {
            throw CLIError("cannot import \(configFile.path): \(e.message)", hint: e.hint)
        }

        let target = paths.profileFile(profileName)
        let replacing = FileManager.default.fileExists(atPath: target.path)
        let backup = try backUpBeforeWriting(paths, reason: "import", detail: "before importing Hermes profile \(dir.path) as \(profileName)")
        do {
            try FileManager.default.createDirectory(at: paths.profilesDirectory, withIntermediateDirectories: true)
            try Data(result.yaml.utf8).write(to: target, options: .atomic)
        } catch {
            throw CLIError("cannot write \(target.path)", cause: "\(error)", code: "cannot_write")
        }
        let (_, diagnostics) = ConfigLoader.validate(paths: paths)
        let mine = diagnostics.filter { $0.file == target.path || $0.severity == .error }

        let keyLine: String
        switch result.keySource {
        case .reference(let v): keyLine = "key: config.yaml reads it from \(v); the profile does too (api_key_env: \(v))"
        case .matchedInDotenv(let v): keyLine = "key: config.yaml holds it literally; .env holds the same value in \(v), so api_key_env: \(v) (the key was not copied)"
        case .literalNotFound(let v): keyLine = "key: config.yaml holds it literally and no .env variable matches: api_key_env: \(v); set \(v) to the key (it was not copied)"
        case .providerDefault(let v, let isSet): keyLine = "key: none in config.yaml; api_key_env: \(v), the provider's usual variable (\(isSet ? "set" : "not set"))"
        case .none: keyLine = "key: none (requests go without Authorization)"
        }
        if global.json {
            struct Out: Encodable {
                var profile: String
                var file: String
                var baseUrl: String
                var model: String?
                var context: Int?
                var apiKeyEnv: String?
                var replaced: Bool
                var backup: String?
                var notes: [String]
                var diagnostics: [ConfigDiagnostic]
            }
            printJSON(Out(profile: profileName, file: target.path, baseUrl: result.baseURL, model: result.model, context: result.context,
                          apiKeyEnv: result.apiKeyEnv, replaced: replacing, backup: backup?.id, notes: result.notes, diagnostics: mine))
        } else {
            if let backup { print("backed up the current config as \(backup.id) (undo: hermes-runtime config restore \(backup.id))") }
            print("\(replacing ? "replaced" : "wrote") \(target.path) (kind: openai, \(result.baseURL)\(result.model.map { ", model \($0)" } ?? ""))")
            print(keyLine)
            for n in result.notes { print("note: \(n)") }
            for d in mine { print(d.description) }
            print("use it: `model: \(profileName)` in a request, a route or an alias in runtime.yaml; `hermes-runtime doctor \(profileName)` checks it")
        }
        if mine.contains(where: { $0.severity == .error }) {
            throw CLIError("the config does not validate after the import",
                           hint: backup.map { "`hermes-runtime config restore \($0.id)` goes back" } ?? "fix the file above")
        }
    }
}
