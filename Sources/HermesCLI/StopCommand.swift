import ArgumentParser
import Foundation
import HermesCore
import HermesDaemon
import HermesSupervisor

/// `hermes-runtime stop PROFILE | --all`: the server takes no new request, the ones it is answering
/// finish (up to `daemon.drain_timeout`), a warm cache is saved, then SIGTERM to the server's process
/// group, SIGKILL after a grace period; returns when the process is gone and its port is free.
struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a profile's server (or all of them).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile to stop.")
    var profile: String?

    @Flag(help: "Stop every server.")
    var all = false

    func validate() throws {
        if (profile == nil) == !all { throw ValidationError("name a profile or pass --all") }
    }

    func run() async throws {
        let paths = global.paths()
        let client = ControlClient(paths: paths)
        guard await client.isRunning() else {
            print("the daemon is not running: nothing to stop")
            return
        }
        // The daemon lets the requests in flight finish (up to its drain limit), saves warm caches (up to
        // their save timeout), then stops each server (SIGKILL after 10 s): wait for all of that.
        let drain = (try? await client.call(.GET, "/v1/status", as: DaemonStatus.self, timeout: 5))?.drainTimeout ?? 30
        let limit = Double(drain) + 90
        let stopped: [ServerStatus]
        if all {
            stopped = try await client.call(.POST, "/v1/stop-all", as: [ServerStatus].self, timeout: limit)
        } else {
            stopped = [try await client.call(.POST, "/v1/profiles/\(profile!)/stop", as: ServerStatus.self, timeout: limit)]
        }
        // The port must be free before we say "stopped": a quick `start` after us must not collide.
        for s in stopped {
            if let host = s.host, let port = s.port {
                for _ in 0..<100 where !PortCheck.isFree(host: host, port: port) { try await Task.sleep(for: .milliseconds(50)) }
            }
        }
        if global.json { printJSON(stopped) } else {
            for s in stopped { print("\(s.profile): \(s.phase.rawValue)") }
        }
    }
}
