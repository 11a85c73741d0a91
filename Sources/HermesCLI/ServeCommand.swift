import ArgumentParser
import Foundation
import HermesCore
import HermesDaemon
import Logging

/// `hermes-runtime serve`: the daemon in the foreground (for systemd; `start` runs it in the background).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon in the foreground: supervisors, control socket, routing front."
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("llama-server"), help: "Use this llama-server binary for every profile.")
    var llamaServer: String?

    @Option(name: .customLong("start"), help: "Start these profiles once the daemon is up (repeatable).")
    var startProfiles: [String] = []

    func run() async throws {
        let paths = global.paths()
        let level: Logger.Level = global.verbose ? .debug : .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "hermes-runtime")
        do {
            try await Daemon.run(paths: paths, options: .init(llamaServerOverride: llamaServer, startProfiles: startProfiles), logger: logger)
        } catch let e as DaemonLock.Held {
            throw CLIError(e.description, hint: "`hermes-runtime status` talks to it; `hermes-runtime daemon stop` stops it")
        } catch let e as ConfigError {
            throw CLIError(e.description, hint: "`hermes-runtime config validate` lists every problem")
        }
    }
}
