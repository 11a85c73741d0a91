import Foundation
import HermesCore

/// Asks a `ggml-rpc-server` its protocol version (HELLO) and its device's memory, on a fresh TCP
/// connection with a short timeout for every step.
///
/// A worker serves one client at a time (listen backlog 1): while a main llama-server is attached, a
/// connection is accepted by the kernel but never answered. So this is asked only of a worker no main
/// uses (before a main starts, and by `doctor`), and a timeout means "busy or gone", never "wrong".
public enum RPCClient {
    /// What a worker answered, or why it did not.
    public struct Answer: Sendable, Equatable {
        public var version: RPCVersion
        public var memory: RPCDeviceMemory?
        /// Why GET_DEVICE_MEMORY got no answer, when it was asked and HELLO was answered.
        public var memoryFailure: Failure?
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// Nothing listens there (connection refused), or the address is unreachable.
        case unreachable(String)
        /// No answer within the timeout: busy with a main, or a box that vanished.
        case timeout
        /// It answered bytes that are no HELLO reply.
        case garbage(RPCReplyError)
        case closed

        public var description: String {
            switch self {
            case .unreachable(let why): return "cannot connect (\(why))"
            case .timeout: return "no answer in time (busy with a main, or gone)"
            case .garbage(let e): return "not an RPC worker's answer: \(e)"
            case .closed: return "the worker closed the connection without an answer"
            }
        }
    }

    /// HELLO, then (with `memory`) GET_DEVICE_MEMORY of device 0, on its own thread so a slow box
    /// blocks no task.
    public static func ask(host: String, port: Int, timeout: Double, memory: Bool = true) async -> Result<Answer, Failure> {
        await withCheckedContinuation { cont in
            Thread.detachNewThread { cont.resume(returning: askBlocking(host: host, port: port, timeout: timeout, memory: memory)) }
        }
    }

    static func askBlocking(host: String, port: Int, timeout: Double, memory: Bool) -> Result<Answer, Failure> {
        guard (1...65535).contains(port), IPv4Literal.isValid(host) else { return .failure(.unreachable("not IPv4:port")) }
        let deadline = Date().addingTimeInterval(max(timeout, 0.01))
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .failure(.unreachable("socket: errno \(errno)")) }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr(host)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 {
            guard errno == EINPROGRESS else { return .failure(.unreachable(String(cString: strerror(errno)))) }
            guard wait(fd, for: Int16(POLLOUT), until: deadline) else { return .failure(.timeout) }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err != 0 { return .failure(.unreachable(String(cString: strerror(err)))) }
        }
        let version: RPCVersion
        switch exchange(fd, RPCProtocol.helloRequest, replySize: RPCProtocol.helloReplySize, until: deadline)
            .flatMap({ RPCProtocol.parseHello($0).mapError(Failure.garbage) })
        {
        case .success(let v): version = v
        case .failure(let f): return .failure(f)
        }
        guard memory else { return .success(Answer(version: version, memory: nil)) }
        switch exchange(fd, RPCProtocol.deviceMemoryRequest(), replySize: RPCProtocol.deviceMemoryReplySize, until: deadline)
            .flatMap({ RPCProtocol.parseDeviceMemory($0).mapError(Failure.garbage) })
        {
        case .success(let m): return .success(Answer(version: version, memory: m))
        case .failure(let f): return .success(Answer(version: version, memory: nil, memoryFailure: f))
        }
    }

    /// Sends `request`, then reads exactly `replySize` bytes, all before `deadline`.
    static func exchange(_ fd: Int32, _ request: [UInt8], replySize: Int, until deadline: Date) -> Result<[UInt8], Failure> {
        var sent = 0
        while sent < request.count {
            guard wait(fd, for: Int16(POLLOUT), until: deadline) else { return .failure(.timeout) }
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { if errno == EAGAIN || errno == EINTR { continue } else { return .failure(.closed) } }
            sent += max(n, 0)
        }
        var reply = [UInt8](repeating: 0, count: replySize)
        var got = 0
        while got < replySize {
            guard wait(fd, for: Int16(POLLIN), until: deadline) else { return .failure(.timeout) }
            let n = reply[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return .failure(.closed) }
            if n < 0 { if errno == EAGAIN || errno == EINTR { continue } else { return .failure(.closed) } }
            got += n
        }
        return .success(reply)
    }

    static func wait(_ fd: Int32, for events: Int16, until deadline: Date) -> Bool {
        while true {
            let ms = deadline.timeIntervalSinceNow * 1000
            guard ms > 0 else { return false }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, Int32(min(ms.rounded(.up), 60_000)))
            if r > 0 { return true }
            if r == 0 { return false }
            if errno != EINTR { return false }
        }
    }
}
