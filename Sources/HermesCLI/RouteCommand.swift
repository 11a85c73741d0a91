import ArgumentParser
import Foundation
import HermesCore
import HermesDaemon

/// `hermes-runtime route [--explain] REQUEST.json`: where the front would send a request, and why,
/// without sending it. Uses the running daemon's live server states when there is one (a stopped local
/// server means a burst), else judges every local server as ready with its configured slots.
struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Show where the front would send a request, and why (nothing is sent)."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "A request body as JSON (a chat completion unless --endpoint says otherwise); - reads stdin.")
    var request: String

    @Option(name: [.customShort("H"), .long], help: "A request header, e.g. -H 'X-Hermes-Source: cron' (repeatable).")
    var header: [String] = []

    @Option(help: "chat (POST /v1/chat/completions), completions or embeddings.")
    var endpoint: String = "chat"

    @Flag(help: "Print every step of the decision.")
    var explain = false

    func run() async throws {
        let paths = global.paths()
        let config: HermesConfig
        do { config = try ConfigLoader.load(paths: paths) } catch { throw CLIError("\(error)", hint: "`hermes-runtime config validate` lists every problem") }
        let routed: RoutedEndpoint
        switch endpoint {
        case "chat", "chat/completions": routed = .chatCompletions
        case "completions": routed = .completions
        case "embeddings": routed = .embeddings
        default: throw ValidationError("--endpoint wants chat, completions or embeddings")
        }
        let data: Data
        if request == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: request) else { throw CLIError("cannot read \(request)", code: "cannot_read") }
            data = d
        }
        var headers: [String: String] = [:]
        for h in header {
            guard let colon = h.firstIndex(of: ":") else { throw ValidationError("a header is NAME: VALUE, not '\(h)'") }
            headers[h[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = h[h.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let ctx: RouteContext
        do { ctx = try RouteContext(endpoint: routed, headers: headers, body: [UInt8](data)) } catch {
            throw CLIError("the front would answer \(error.status): \(error.message)")
        }

        let (snapshot, source) = await liveSnapshot(paths: paths, config: config)
        let decision = try RoutingPolicy(config: config).decide(ctx, snapshot: snapshot, explain: true)
        if global.json {
            struct Out: Encodable {
                var target: String?
                var reason: String
                var selected: String?
                var promptTokens: Int
                var maxTokens: Int?
                var fallbacks: [String]
                var steps: [String]
                var state: String
            }
            printJSON(Out(target: decision.target, reason: decision.reason, selected: decision.selected,
                          promptTokens: decision.promptTokens, maxTokens: decision.maxTokens,
                          fallbacks: decision.fallbacks, steps: decision.steps, state: source))
        } else if explain {
            print("(server states: \(source))")
            print(decision.explain())
        } else {
            print(decision.explain().split(separator: "\n").last.map(String.init) ?? "")
        }
    }

    /// Live states from this root's daemon, or every local profile ready as configured.
    func liveSnapshot(paths: RuntimePaths, config: HermesConfig) async -> (RuntimeSnapshot, String) {
        if let daemon = try? await ControlClient(paths: paths).call(.GET, "/v1/status", as: DaemonStatus.self, timeout: 3) {
            var statuses: [String: LocalRuntimeStatus] = [:]
            for s in daemon.servers { statuses[s.profile] = s.runtimeStatus }
            return (RuntimeSnapshot(statuses: statuses), "live, from the daemon (pid \(daemon.pid))")
        }
        var statuses: [String: LocalRuntimeStatus] = [:]
        for (name, p) in config.profiles {
            guard let s = p.llamaServer else { continue }
            let slots = max(s.slots ?? 1, 1)
            let host = s.effectiveHost.contains(":") ? "[\(s.effectiveHost)]" : s.effectiveHost
            statuses[name] = LocalRuntimeStatus(phase: .ready, baseURL: "http://\(host):\(s.port ?? 8080)", slotsTotal: slots,
                                                contextPerSlot: s.context.map { $0 / slots }, slotsBusy: 0)
        }
        return (RuntimeSnapshot(statuses: statuses), "daemon not running: every local server judged ready as configured")
    }
}
