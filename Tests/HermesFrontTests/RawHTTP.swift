import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Blocking TCP on loopback for tests that must send what no HTTP client would (malformed request lines,
/// thousands of headers, smuggling shapes) or hold many connections open. Every call is bounded by
/// socket timeouts; run them off Swift Testing's thread pool with `onThread`.
enum RawHTTP {
    /// Runs `work` on a thread of its own (Swift Testing's pool has one thread per core).
    static func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { c in Thread.detachNewThread { c.resume(returning: work()) } }
    }

    /// A connected socket to 127.0.0.1:`port`, or -1.
    static func connect(port: Int, timeout: Double = 2) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    /// Writes all of `bytes` (false when the peer closed or the write timed out).
    @discardableResult
    static func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    /// Reads until the peer closes or the read times out.
    static func readAll(_ fd: Int32, limit: Int = 1 << 20) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while out.count < limit {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            out += buf[0..<n]
        }
        return out
    }

    /// True when the peer closed the connection (EOF) within the socket's read timeout.
    static func closedByPeer(_ fd: Int32) -> Bool {
        var b: UInt8 = 0
        while true {
            let n = recv(fd, &b, 1, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    /// Sends one request and returns the answer's status and body (status 0: no answer).
    static func exchange(port: Int, _ request: [UInt8], timeout: Double = 20) -> (status: Int, body: String) {
        let fd = connect(port: port, timeout: timeout)
        guard fd >= 0 else { return (0, "") }
        defer { close(fd) }
        write(fd, request)
        let raw = readAll(fd)
        return parse(raw)
    }

    static func parse(_ raw: [UInt8]) -> (status: Int, body: String) {
        let text = String(decoding: raw, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 "), text.count >= 12, let status = Int(text.dropFirst(9).prefix(3)) else { return (0, text) }
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    /// A POST with a correct Content-Length and `Connection: close`.
    static func post(_ path: String = "/v1/chat/completions", body: [UInt8], extraHeaders: String = "") -> [UInt8] {
        Array("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n\(extraHeaders)Content-Length: \(body.count)\r\n\r\n".utf8) + body
    }
}
