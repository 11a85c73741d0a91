import ArgumentParser
import Foundation
import HermesCore
import HermesDaemon
import HermesSupervisor

/// `hermes-runtime start PROFILE`: launch a profile's llama-server under the daemon and wait until it answers.
struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start a llama-server profile under the daemon and wait until it answers."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile to start (runtimes/PROFILE.yaml).")
    var profile: String

    @Flag(name: .customLong("dry-run"), help: "Print the exact command line and environment; run nothing.")
    var dryRun = false

    @Flag(name: .customLong("no-wait"), help: "Return once the server is spawned.")
    var noWait = false

    @Option(help: "Seconds to wait for readiness (default: the profile's health.startup_timeout).")
    var timeout: Double?

    @Flag(help: "Start even when the memory estimate says the model will not fit.")
    var force = false

    @Option(name: .customLong("llama-server"), help: "Use this llama-server binary for every profile (also $HERMES_RUNTIME_LLAMA_SERVER).")
    var llamaServer: String?

    func run() async throws {
        let paths = global.paths()
        let config = try ConfigLoader.load(paths: paths)
        let p = try config.requireProfile(profile, paths: paths)
        if dryRun { return try printDryRun(p, paths: paths) }
        guard p.isSupervised else {
            throw CLIError("'\(p.name)' is a \(p.kindName) profile: there is nothing to start",
                           hint: "the front sends requests to it as they come", code: "not_local")
        }
        let client = ControlClient(paths: paths)
        if !(await client.isRunning()) {
            say("starting the daemon (log: \(paths.daemonLog.path))")
            try await client.startDaemon(llamaServer: llamaServer)
            if let daemon = try? await client.call(.GET, "/v1/status", as: DaemonStatus.self) {
                if let front = daemon.front {
                    say("routing front on \(front) (any OpenAI client; X-Hermes-Route says where each answer went)")
                } else if let why = daemon.frontError {
                    say("warning: the routing front is not serving: \(why)")
                }
            }
        }
        var status = try await client.call(.POST, "/v1/profiles/\(p.name)/start\(force ? "?force=1" : "")", as: ServerStatus.self)
        var saidPid: Int32?
        func sayPid() {
            if let pid = status.pid, pid != saidPid {
                say("\(p.name): spawned pid \(pid): \(status.command ?? "")")
                saidPid = pid
            }
        }
        if noWait {
            for _ in 0..<50 where status.pid == nil && status.phase == .starting {
                try await Task.sleep(for: .milliseconds(20))
                status = try await client.call(.GET, "/v1/profiles/\(p.name)", as: ServerStatus.self)
            }
            sayPid()
            return finish(status)
        }

        let limit = timeout ?? (p.llamaServer ?? LlamaServerSettings()).effectiveHealth.startupTimeout
        let began = Date()
        var lastSaid = -1
        while true {
            sayPid()
            switch status.phase {
            case .ready:
                return finish(status)
            case .failed, .stopped:
                throw StartFailure(profile: p.name, reason: status.lastError ?? "the server stopped",
                                   lastLogLines: status.lastLogLines ?? [], hint: status.hint)
            default:
                break
            }
            let elapsed = Int(Date().timeIntervalSince(began))
            if elapsed != lastSaid, elapsed % 2 == 0, !global.json {
                say("\(p.name): \(status.phase == .restarting ? "restarting" : "loading model") (\(elapsed) s)")
                lastSaid = elapsed
            }
            if Date().timeIntervalSince(began) > limit {
                throw CLIError("\(p.name) was not ready after \(Int(limit)) s (still \(status.phase.rawValue))",
                               hint: "`hermes-runtime logs \(p.name)` shows what it is doing", code: "start_timeout")
            }
            try await Task.sleep(for: .milliseconds(100))
            status = try await client.call(.GET, "/v1/profiles/\(p.name)", as: ServerStatus.self)
        }
    }

    func finish(_ s: ServerStatus) {
        if global.json {
            printJSON(s)
            return
        }
        if s.phase == .ready, s.kind == "rpc-worker" {
            print("\(s.profile): rpc worker ready on \(s.host ?? "?"):\(s.port ?? 0) (pid \(s.pid.map(String.init) ?? "?"))")
        } else if s.phase == .ready {
            let slots = s.slotsTotal.map { "\($0) slot(s)" } ?? "slots unknown"
            let ctx = s.contextPerSlot.map { ", \($0) tokens of context per slot" } ?? ""
            print("\(s.profile): ready on \(s.host ?? "?"):\(s.port ?? 0), \(slots)\(ctx) (pid \(s.pid.map(String.init) ?? "?"))")
        } else {
            print("\(s.profile): \(s.phase.rawValue) (pid \(s.pid.map(String.init) ?? "?"))")
        }
    }

    func say(_ text: String) {
        if !global.json { print(text) }
        flushStandardOutput()
    }

    func printDryRun(_ p: Profile, paths: RuntimePaths) throws {
        let planner = CommandPlanner(probe: DialectProbe(cacheDirectory: paths.dialectCacheDirectory), binaryOverride: llamaServer)
        let (command, dialect) = try planner.plan(p)
        if global.json {
            struct Out: Encodable {
                var profile: String
                var executable: String
                var arguments: [String]
                var environment: [String: String]
                var dialect: String
                var shellLine: String
            }
            printJSON(Out(profile: p.name, executable: command.executable, arguments: command.arguments,
                          environment: command.environment, dialect: dialect.summary, shellLine: command.shellLine))
        } else {
            print("# profile \(p.name) (\(p.source.file)); llama-server dialect: \(dialect.summary)")
            for (k, v) in command.environment.sorted(by: { $0.key < $1.key }) { print("export \(k)=\(shellQuote(v))") }
            print(([command.executable] + command.arguments).map(shellQuote).joined(separator: " "))
        }
    }
}
