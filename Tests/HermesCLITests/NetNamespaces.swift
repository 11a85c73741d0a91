import Foundation
import HermesTestSupport

/// Two network namespaces joined by a veth pair: two "boxes" on one machine, each end with its own
/// address, and a link that can be unplugged (`ip link set down`). Needs root and iproute2
/// (scripts/setup-system.sh installs it). `destroy()` removes both namespaces, and with them the link.
struct NetNamespaces {
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    let ip: String
    /// The two namespaces and the veth end in each.
    let a: String, b: String
    let linkA: String, linkB: String
    let addressA = "10.231.9.1", addressB = "10.231.9.2"

    /// `ip` from PATH or the usual sbin folders; throws naming the setup command when it is missing.
    static func findIP() throws -> String {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin"]
        guard let ip = dirs.map({ $0 + "/ip" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Missing(description: "`ip` (iproute2) is missing: run scripts/setup-system.sh")
        }
        return ip
    }

    /// Creates `hrt<pid>a` and `hrt<pid>b` (names no other run uses), the veth pair between them with
    /// `addressA`/`addressB` on a /30, and loopback up in both.
    init() throws {
        guard getuid() == 0 else { throw Missing(description: "network namespaces need root (run the tests as root)") }
        ip = try Self.findIP()
        let tag = "hrt\(getpid() % 1_000_000)"
        (a, b, linkA, linkB) = (tag + "a", tag + "b", tag + "va", tag + "vb")
        do {
            try run(["netns", "add", a])
            try run(["netns", "add", b])
            try run(["link", "add", linkA, "type", "veth", "peer", "name", linkB])
            try run(["link", "set", linkA, "netns", a])
            try run(["link", "set", linkB, "netns", b])
            try run(["-n", a, "addr", "add", addressA + "/30", "dev", linkA])
            try run(["-n", b, "addr", "add", addressB + "/30", "dev", linkB])
            for (ns, link) in [(a, linkA), (b, linkB)] {
                try run(["-n", ns, "link", "set", "lo", "up"])
                try run(["-n", ns, "link", "set", link, "up"])
            }
        } catch {
            _ = try? run(["link", "del", linkA])
            destroy()
            throw error
        }
    }

    /// What runs a command inside namespace `ns` (CLIRunner's `launcher`).
    func launcher(_ ns: String) -> [String] { [ip, "netns", "exec", ns] }

    /// Unplugs (`false`) or replugs the link at box B's end.
    func setLinkB(up: Bool) throws { try run(["-n", b, "link", "set", linkB, up ? "up" : "down"]) }

    /// Removes both namespaces (the veth pair goes with them); every step is tried, errors ignored.
    func destroy() {
        _ = try? run(["netns", "del", a])
        _ = try? run(["netns", "del", b])
    }

    @discardableResult
    func run(_ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ip)
        p.arguments = arguments
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard p.terminationStatus == 0 else { throw Missing(description: "ip \(arguments.joined(separator: " ")): \(message)") }
        return message
    }
}
