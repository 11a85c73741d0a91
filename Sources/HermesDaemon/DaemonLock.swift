import Foundation
import HermesCore

/// One daemon per config root: an exclusive `flock` on `STATE/daemon.lock`, held for the daemon's life.
/// The kernel drops it when the process dies, however it dies, so a stale lock never blocks a restart.
/// Keepers take the lock for an instant to ask whether a daemon is alive (their lease): a daemon that
/// meets one of those instants tries again for a moment before it says another daemon runs.
public final class DaemonLock: @unchecked Sendable {
    public struct Held: Error, CustomStringConvertible {
        public var pid: Int32?
        public var stateDirectory: String
        public var description: String {
            "a hermes-runtime daemon is already running for this config root"
                + (pid.map { " (pid \($0))" } ?? "") + "; its state is in \(stateDirectory)"
        }
    }

    private let fd: Int32

    public init(paths: RuntimePaths) throws {
        try FileManager.default.createDirectory(at: paths.stateDirectory, withIntermediateDirectories: true)
        let lockPath = paths.stateDirectory.appendingPathComponent("daemon.lock").path
        fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var locked = false
        for _ in 0..<25 {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                locked = true
                break
            }
            usleep(20_000)
        }
        if !locked {
            close(fd)
            let pid = (try? String(contentsOf: paths.daemonPidFile, encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            throw Held(pid: pid, stateDirectory: paths.stateDirectory.path)
        }
        try "\(getpid())\n".write(to: paths.daemonPidFile, atomically: true, encoding: .utf8)
    }

    deinit { close(fd) }
}
