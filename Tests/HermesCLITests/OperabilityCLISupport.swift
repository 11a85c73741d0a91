import Foundation
import HermesTestSupport

/// A CLI runner with a home directory of its own (no models, units or keys of the machine leak in) and
/// no `*_API_KEY` variables unless a test sets them.
func isolatedCLI(root: URL, extraEnvironment: [String: String] = [:]) throws -> (CLIRunner, home: URL) {
    var cli = try CLIRunner(configRoot: root)
    let home = try TestEnvironment.temporaryDirectory("home")
    cli.environment["HOME"] = home.path
    cli.environment.removeValue(forKey: "XDG_CONFIG_HOME")
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
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 4)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }
    func close() { _ = Glibc.close(fd) }
}
