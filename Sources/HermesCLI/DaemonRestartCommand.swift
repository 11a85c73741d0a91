import ArgumentParser
import Foundation
import HermesCore
import HermesDaemon
import HermesSupervisor

/// `hermes-runtime daemon restart`: a new daemon process (the binary installed now) takes over every
/// running llama-server without reloading it: same pids, models stay in memory. Only requests in
/// flight through the front at that moment are cut.
struct DaemonRestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart",
                                                    abstract: "Restart the daemon (e.g. onto a new binary); loaded models stay loaded.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let paths = global.paths()
        let client = ControlClient(paths: paths)
        guard let before = try? await client.call(.GET, "/v1/status", as: DaemonStatus.self, timeout: 5) else {
            throw CLIError("the daemon is not running", hint: "`hermes-runtime start PROFILE` starts it", code: "not_running")
        }
        _ = try await client.call(.POST, "/v1/restart", as: [String: Bool].self)
        let deadline = Date().addingTimeInterval(Double(before.drainTimeout ?? 30) + 30)
        while Date() < deadline {
            if let now = try? await client.call(.GET, "/v1/status", as: DaemonStatus.self, timeout: 2), now.pid != before.pid, now.stopping != true {
                if global.json {
                    printJSON(now)
                } else {
                    let kept = now.servers.filter { $0.adopted == true }.map(\.profile)
                    print("daemon restarted: pid \(before.pid) -> \(now.pid)" + (kept.isEmpty ? "" : "; kept running: \(kept.joined(separator: ", "))"))
                }
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CLIError("no new daemon answered within the limit", hint: "see \(paths.daemonLog.path)", code: "daemon_timeout")
    }
}
