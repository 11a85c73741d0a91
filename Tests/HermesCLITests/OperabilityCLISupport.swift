import Foundation
import HermesTestSupport
import Testing

/// A CLI runner with a home directory of its own (no models, units or keys of the machine leak in) and
/// no `*_API_KEY` variables unless a test sets them.
func isolatedCLI(root: URL, extraEnvironment: [String: String] = [:]) throws -> (CLIRunner, home: URL) {
    var cli = try CLIRunner(configRoot: root)
    let home = try TestEnvironment.temporaryDirectory("home")
    cli.environment["HOME"] = home.path
    cli.environment.removeValue(forKey: "XDG_CONFIG_HOME")
    // The cache is under the new HOME too: a HERMES_RUNTIME_CACHE of the run's (an empty-cache run of
    // the suite sets one) would show `init` the real test model.
    cli.environment.removeValue(forKey: "HERMES_RUNTIME_CACHE")
    for key in cli.environment.keys where key.hasSuffix("_API_KEY") { cli.environment.removeValue(forKey: key) }
    cli.environment.merge(extraEnvironment) { _, new in new }
    return (cli, home)
}

/// The text of a file under `root`.
func readText(_ root: URL, _ relative: String) throws -> String {
    try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
}

/// Every byte under `dir`, as text, for "this secret is nowhere" checks.
func allText(under dir: URL) -> String {
    var out = ""
    let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)
    while let url = e?.nextObject() as? URL {
        if let data = FileManager.default.contents(atPath: url.path) { out += String(decoding: data, as: UTF8.self) }
    }
    return out
}

/// A listener that holds a loopback port until closed.
final class PortHolder {
    let fd: Int32
    let port: Int
    init() {
        let (fd, port) = LoopbackSocket.bound(backlog: 4) ?? (-1, 0)
        self.fd = fd
        self.port = port
    }
    func close() { _ = Glibc.close(fd) }
}

/// What `status --json` says, as far as the CLI tests read it (one decoder for every suite).
struct CLIStatus: Decodable {
    struct Server: Decodable {
        var profile: String
        var phase: String
        var pid: Int32?
        var keeperPid: Int32?
        var adopted: Bool?
        var restarts: Int
        var readyAt: String?
        var slotsTotal: Int?
        var contextPerSlot: Int?
        var lastError: String?
    }
    struct Daemon: Decodable {
        var pid: Int32
        var guardPid: Int32?
        var stopping: Bool?
    }
    var daemon: Daemon?
    var daemonRunning: Bool
    var servers: [Server]

    static func read(_ cli: CLIRunner) async throws -> CLIStatus {
        let r = try await cli.run(["status", "--json"])
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return try d.decode(CLIStatus.self, from: Data(r.stdout.utf8))
    }

    static func server(_ cli: CLIRunner, _ name: String) async throws -> Server {
        try await #require(try read(cli).servers.first { $0.profile == name })
    }
}
