import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// TCP sockets on 127.0.0.1 for tests: free ports, port holders, hand-made misbehaving listeners.
public enum LoopbackSocket {
    /// A socket bound to 127.0.0.1:`port` (0 = any free port), listening when `backlog` is given.
    /// Returns the descriptor and the port it got, or nil when socket() or bind() failed.
    public static func bound(port: Int = 0, backlog: Int32? = nil) -> (fd: Int32, port: Int)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else {
            close(fd)
            return nil
        }
        if let backlog { listen(fd, backlog) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    /// A port nothing listens on right now, for a server a test starts later. Chosen at random below
    /// the kernel's ephemeral range (32768-60999 here), never the same twice in this process: a port
    /// the kernel handed out (bind to 0) goes back to its pool, and the suite's thousands of outgoing
    /// connections can take it before the server binds it ("port ... is in use", seen under load).
    public static func freePort() -> Int? {
        for _ in 0..<200 {
            let port = Int.random(in: 20_000...32_767)
            guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
            if let (fd, _) = bound(port: port) {
                close(fd)
                return port
            }
        }
        guard let (fd, port) = bound() else { return nil }
        close(fd)
        return port
    }

    private static let handedOut = Mutex(Set<Int>())
}
