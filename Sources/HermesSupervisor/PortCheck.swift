import Foundation

/// Is a TCP port free, and if not, who holds it?
public enum PortCheck {
    /// True when nothing listens on `host:port`: we can bind it the way llama-server does.
    ///
    /// With SO_REUSEADDR, as llama-server (cpp-httplib) binds: connections in TIME_WAIT, such as the ones
    /// our own health probes leave behind after a stop, do not make a port busy for it, so they must not
    /// for us either; without it a stop + start at once failed for about a minute.
    public static func isFree(host: String, port: Int) -> Bool {
        guard (1...65535).contains(port) else { return false }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
        if addr.sin_addr.s_addr == INADDR_NONE { addr.sin_addr.s_addr = INADDR_ANY }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return r == 0
    }

    /// "pid 1234 (nginx)" for the process listening on `port`, when /proc lets us see it. The kernel
    /// walks its socket table anew for each read of /proc/net/tcp, so a line can fall between two reads
    /// while thousands of sockets come and go: the table is read in one large read, and a scan that
    /// finds nothing is tried again, five times at most.
    public static func holder(port: Int) -> String? {
        for attempt in 0..<5 {
            if attempt > 0 { usleep(20_000) }
            if let found = scanHolder(port: port) { return found }
        }
        return nil
    }

    /// A /proc table in as few reads as it takes with a 4 MiB buffer (at most 64 MiB).
    static func readTable(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        while out.count < 64 << 20 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func scanHolder(port: Int) -> String? {
        var inodes = Set<String>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = readTable(table) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                guard f.count > 9, f[3] == "0A" else { continue }  // 0A = LISTEN
                if let portHex = f[1].split(separator: ":").last, Int(portHex, radix: 16) == port { inodes.insert(String(f[9])) }
            }
        }
        guard !inodes.isEmpty else { return nil }
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { Int($0) != nil }
        for pid in pids {
            let fdDir = "/proc/\(pid)/fd"
            for fd in (try? FileManager.default.contentsOfDirectory(atPath: fdDir)) ?? [] {
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDir)/\(fd)") else { continue }
                if target.hasPrefix("socket:["), inodes.contains(String(target.dropFirst(8).dropLast())) {
                    let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?
                        .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
                    return "pid \(pid) (\(comm))"
                }
            }
        }
        return nil
    }
}
