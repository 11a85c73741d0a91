import ArgumentParser
import Foundation
import HermesCore
import HermesDaemon
import HermesSupervisor

/// `hermes-runtime daemon stop`: drains the front, stops every server, then the daemon and its guard.
/// Waits at most the drain limit plus the servers' stop time; says the truth when that was not enough
/// (what still runs, exit status 1).
struct DaemonStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop every server and the daemon.")
    @OptionGroup var global: GlobalOptions

    @Option(help: "Seconds to wait (default: the daemon's drain limit + 15).")
    var timeout: Double?

    func run() async throws {
        let paths = global.paths()
        let client = ControlClient(paths: paths)
        guard let before = try? await client.call(.GET, "/v1/status", as: DaemonStatus.self, timeout: 5) else {
            print("the daemon is not running")
            return
        }
        _ = try await client.request(.POST, "/v1/shutdown")
        let limit = timeout ?? Double(before.drainTimeout ?? 30) + 15
        let deadline = Date().addingTimeInterval(limit)
        var last = before
        while Date() < deadline {
            let gone = !ProcessInfoReader.exists(before.pid) && (before.guardPid.map { !ProcessInfoReader.exists($0) } ?? true)
            if gone { break }
            if let s = try? await client.call(.GET, "/v1/status", as: DaemonStatus.self, timeout: 2) { last = s }
            try await Task.sleep(for: .milliseconds(50))
        }
        let stillDaemon = ProcessInfoReader.exists(before.pid)
        let stillServers = last.servers.compactMap { s in s.pid.flatMap { ProcessInfoReader.exists($0) ? "\(s.profile) (pid \($0))" : nil } }
        guard !stillDaemon, stillServers.isEmpty else {
            var what: [String] = []
            if stillDaemon { what.append("the daemon (pid \(before.pid))") }
            what += stillServers
            throw CLIError("the daemon did not stop within \(Int(limit)) s; still running: \(what.joined(separator: ", "))",
                           hint: "see \(paths.daemonLog.path); `hermes-runtime status` shows what it is doing", code: "stop_timeout")
        }
        print("daemon stopped")
    }
}
