import ArgumentParser
import Foundation
import HermesCore
import HermesDaemon

/// `hermes-runtime reload`: the daemon reads the config again. An invalid config is refused whole
/// (every problem printed as file:line:column) and the daemon keeps the old one. SIGHUP does the same.
struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make the running daemon read the config again (refused, old config kept, when it has errors)."
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let paths = global.paths()
        let client = ControlClient(paths: paths)
        guard await client.isRunning() else {
            throw CLIError("the daemon is not running: nothing to reload", hint: "the config is read when it starts (`hermes-runtime start PROFILE`)", code: "not_running")
        }
        let (status, body) = try await client.request(.POST, "/v1/reload", timeout: 30)
        guard let result = try? ControlCodec.decoder.decode(ReloadResult.self, from: body) else {
            throw CLIError("the daemon answered \(status) to reload: \(String(decoding: body, as: UTF8.self))")
        }
        if global.json {
            printJSON(result)
        } else {
            for d in result.diagnostics { print(d) }
            if result.reloaded {
                print("reloaded: \(result.profiles.count) profile(s): \(result.profiles.joined(separator: ", "))")
            } else {
                print("reload refused: the daemon keeps its old config")
            }
            for n in result.notes { print("note: \(n)") }
        }
        if !result.reloaded { throw ExitCode(1) }
    }
}
