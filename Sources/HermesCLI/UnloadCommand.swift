import ArgumentParser
import Foundation
import HermesCore
import HermesDaemon

/// `hermes-runtime unload PROFILE [--force]`: frees a model's memory now. Unlike `stop`, it is recorded
/// as an unload (event and metric, reason `manual`) and refuses while the front has requests in flight
/// on it; an on-demand profile loads again on its next request.
struct UnloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unload", abstract: "Unload a profile's model now.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile to unload.")
    var profile: String

    @Flag(help: "Unload even with requests in flight (they fail).")
    var force = false

    func run() async throws {
        let client = ControlClient(paths: global.paths())
        guard await client.isRunning() else {
            print("the daemon is not running: nothing is loaded")
            return
        }
        let path = "/v1/profiles/\(profile)/unload" + (force ? "?force=1" : "")
        do {
            _ = try await client.call(.POST, path, as: [String: String].self, timeout: 60)
        } catch let e as ControlError {
            throw CLIError(e.message)
        }
        print("\(profile): unloaded")
    }
}
