import ArgumentParser
import Foundation
import HermesCore
import HermesDaemon
import HermesSupervisor

/// `hermes-runtime status [PROFILE] [--json]`
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show each local profile's server.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Only this profile.")
    var profile: String?

    func run() async throws {
        let paths = global.paths()
        let client = ControlClient(paths: paths)
        var daemon: DaemonStatus?
        do {
            daemon = try await client.call(.GET, "/v1/status", as: DaemonStatus.self, timeout: 10)
        } catch is ControlClient.NotRunning {
            daemon = nil
        }
        var servers: [ServerStatus]
        if let daemon {
            servers = daemon.servers
        } else {
            // No daemon: every local profile is stopped; say so rather than fail.
            let config = try ConfigLoader.load(paths: paths)
            servers = config.profiles.values.filter(\.isSupervised).sorted { $0.name < $1.name }.map { p in
                var s = ServerStatus(profile: p.name, phase: .stopped)
                s.host = p.llamaServer?.effectiveHost ?? p.rpcWorker?.effectiveAddress
                s.port = p.llamaServer?.port ?? p.rpcWorker?.effectivePort
                s.model = p.llamaServer?.model
                return s
            }
        }
        if let profile {
            servers = servers.filter { $0.profile == profile }
            if servers.isEmpty { throw CLIError("no local profile '\(profile)'", code: "unknown_profile") }
        }
        if global.json {
            struct Out: Encodable {
                var daemon: DaemonStatus?
                var daemonRunning: Bool
                var servers: [ServerStatus]
            }
            let encoder = ControlCodec.encoder
            let data = try encoder.encode(Out(daemon: daemon.map { var d = $0; d.servers = []; return d }, daemonRunning: daemon != nil, servers: servers))
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if let daemon {
            print("daemon pid \(daemon.pid)\(daemon.stopping == true ? " STOPPING (draining, then stopping every server)" : ""), up \(formatDuration(Date().timeIntervalSince(daemon.startedAt))), front \(daemon.front ?? (daemon.frontError.map { "not serving: \($0)" } ?? "off"))")
        } else {
            print("daemon not running (`hermes-runtime start PROFILE` starts it)")
        }
        let rows = servers.map { s -> [String] in
            let slots = s.slotsTotal.map { "\(s.slotsBusy ?? 0)/\($0)" } ?? "-"
            let uptime = s.readyAt.map { formatDuration(Date().timeIntervalSince($0)) } ?? "-"
            return [s.profile, s.phase.rawValue, s.pid.map(String.init) ?? "-", s.port.map { "\(s.host ?? ""):\($0)" } ?? "-",
                    slots, s.contextPerSlot.map(String.init) ?? "-", s.residentBytes.map(ByteCount.format) ?? "-",
                    s.gpuBytes.map(ByteCount.format) ?? "-", uptime, String(s.restarts), s.adopted == true ? "yes" : "-", s.lastError ?? ""]
        }
        // ADOPTED: taken over from an earlier daemon (after a crash or `daemon restart`), model never reloaded.
        printTable(["PROFILE", "STATE", "PID", "ADDRESS", "SLOTS", "CTX/SLOT", "RSS", "GPU", "UPTIME", "RESTARTS", "ADOPTED", "LAST ERROR"], rows)
        let warm = servers.filter { $0.warmSaved != nil }
        if !warm.isEmpty {
            print("")
            printTable(["PROFILE", "WARM CACHES", "TOKENS", "ON DISK"], warm.map { s in
                [s.profile, String(s.warmSaved ?? 0), String(s.warmTokens ?? 0), ByteCount.format(s.warmBytes ?? 0)]
            })
        }
        for s in servers {
            if let a = s.draftAcceptance { print(String(format: "%@: speculative decoding, %.0f%% of drafted tokens accepted", s.profile, a * 100)) }
        }
        for s in servers { if let w = s.lostWorker, let at = s.lostWorkerAt { print("\(s.profile): rpc worker '\(w)' lost at \(at.formatted(.iso8601)) (\(formatDuration(max(0, -at.timeIntervalSinceNow))) ago); restarted after it") } }
        let shown = Set(servers.map(\.profile))
        if let models = daemon?.models?.filter({ shown.contains($0.profile) }), !models.isEmpty {
            print("")
            printTable(["PROFILE", "LOAD", "IN FLIGHT", "LAST USE", "IDLE", "UNLOADS"], models.map { m in
                let unloads = m.unloadsAt.map { "in " + formatDuration(max(0, $0.timeIntervalSinceNow)) }
                    ?? (m.idleUnloadSeconds > 0 ? "not while busy" : "never")
                return [m.profile, m.load + (m.pinned ? ", pinned" : ""), String(m.inFlight),
                        formatDuration(max(0, -m.lastUse.timeIntervalSinceNow)) + " ago", formatDuration(m.idleSeconds), unloads]
            })
        }
        for line in SpendCommand.budgetWarnings(paths: paths) { print(line) }
    }
}
