import Foundation
import HermesTestSupport
import Synchronization

/// A socket that answers HELLO the way a `ggml-rpc-server` would, with any version: a worker of another
/// build, or (`silentAfterHello`) one that answers HELLO and then never answers the memory question,
/// like a box that vanished mid-conversation.
final class FakeRPCWorker: Sendable {
    let fd: Int32
    let port: Int
    let hellos = Mutex(0)
    /// Connections held open without an answer, closed by `stop()`.
    private let held = Mutex<[Int32]>([])

    init?(major: UInt8, minor: UInt8, patch: UInt8, silentAfterHello: Bool = false) {
        guard let (fd, port) = LoopbackSocket.bound(backlog: 4) else { return nil }
        self.fd = fd
        self.port = port
        let reply: [UInt8] = [28, 0, 0, 0, 0, 0, 0, 0, major, minor, patch, 0] + [UInt8](repeating: 0, count: 24)
        Thread.detachNewThread { [self] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return }
                var request = [UInt8](repeating: 0, count: 33)
                var got = 0
                while got < 33 {
                    let n = request[got...].withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { break }
                    got += n
                }
                if got == 33, request[0] == 14 {
                    hellos.withLock { $0 += 1 }
                    _ = reply.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                if silentAfterHello { held.withLock { $0.append(c) } } else { close(c) }
            }
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        for c in held.withLock({ $0 }) { close(c) }
    }
}
