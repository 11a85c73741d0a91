import ArgumentParser
import Foundation
import HermesCore
import HermesDaemon
import Logging

/// `hermes-runtime serve`: the daemon in the foreground (for systemd; `start` runs it in the background).
///
/// `serve` is the guard: it runs the daemon proper as `serve --worker` and starts a new worker within a
/// fraction of a second when one dies; the llama-servers belong to their keepers and are adopted by the
/// new worker. See docs/architecture.md.
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

    @Flag(name: .customLong("worker"), help: .hidden)
    var worker = false

    func run() async throws {
        let paths = global.paths()
        let level: Logger.Level = global.verbose ? .debug : .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "hermes-runtime")
        guard worker else {
            var args = ["serve", "--worker", "--config", paths.configRoot.path]
            if global.verbose { args.append("--verbose") }
            if let llamaServer { args += ["--llama-server", llamaServer] }
            for p in startProfiles { args += ["--start", p] }
            let code = await DaemonGuard.run(workerArguments: args, logger: logger)
            if code != 0 { throw ExitCode(code) }
            return
        }
        do {
            let outcome = try await Daemon.run(paths: paths, options: .init(llamaServerOverride: llamaServer, startProfiles: startProfiles),
                                               logger: logger)
            if outcome == .handedOff { throw ExitCode(WorkerRespawnPolicy.handoffCode) }
        } catch let e as DaemonLock.Held {
            // Retrying cannot help: the guard must not start another worker.
            printError(CLIError(e.description, hint: "`hermes-runtime status` talks to it; `hermes-runtime daemon stop` stops it").description)
            throw ExitCode(WorkerRespawnPolicy.configCode)
        } catch let e as ConfigError {
            printError(CLIError(e.description, hint: "`hermes-runtime config validate` lists every problem").description)
            throw ExitCode(WorkerRespawnPolicy.configCode)
        }
    }
}
