#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Points fd 2 at a private file while librocm_smi runs, because the library prints to stderr
/// ("Failed to open drm root directory ...", "Exception caught: rsmi_init.") with `perror`, `std::cerr`
/// and `fprintf`, none of which can be redirected per call. Lines that are not the library's (another
/// thread logging in that window) are written back to the real stderr, so nothing of ours is lost.
final class StderrCapture: Sendable {
    private struct State {
        var captureFD: Int32 = -1
        var savedFD: Int32 = -1
    }

    private let state = Mutex(State())

    /// What the library is known to print; anything else captured goes back to stderr.
    static let libraryMarkers = [
        "Failed to", "Exception caught", "Unknown exception caught", "RSMI exception", "Callback threw",
        "Unable to open", "Error; read invalid data", "pthread_mutex", "pthread_mutexattr", "fchmod",
        "shm_open", "ftruncate", "mmap", "WARNING: Unlocked", "WARNING: pthread_mutex_unlock",
    ]

    /// Starts capturing. Does nothing if already capturing or if no capture file can be made (then the
    /// noise shows, which is better than failing the probe).
    func begin() {
        state.withLock { s in
            guard s.savedFD < 0 else { return }
            if s.captureFD < 0 { s.captureFD = Self.makeCaptureFile() }
            guard s.captureFD >= 0 else { return }
            _ = ftruncate(s.captureFD, 0)
            _ = lseek(s.captureFD, 0, SEEK_SET)
            let saved = fcntl(2, F_DUPFD_CLOEXEC, 3)
            guard saved >= 0 else { return }
            guard dup2(s.captureFD, 2) >= 0 else {
                close(saved)
                return
            }
            s.savedFD = saved
        }
    }

    /// Gives fd 2 back and returns the library's lines. Safe to call twice (the second call returns "").
    @discardableResult
    func end() -> String {
        let captured: String = state.withLock { s in
            guard s.savedFD >= 0 else { return "" }
            _ = dup2(s.savedFD, 2)
            close(s.savedFD)
            s.savedFD = -1
            return Self.readAll(s.captureFD)
        }
        guard !captured.isEmpty else { return "" }
        var library: [Substring] = []
        var foreign = ""
        for line in captured.split(separator: "\n", omittingEmptySubsequences: true) {
            if Self.libraryMarkers.contains(where: { line.contains($0) }) {
                library.append(line)
            } else {
                foreign += line + "\n"
            }
        }
        if !foreign.isEmpty {
            _ = foreign.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
        }
        return library.joined(separator: "\n")
    }

    private static func makeCaptureFile() -> Int32 {
        var template = Array("/tmp/hermes-rocm-smi-stderr.XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd >= 0 {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        }
        return fd
    }

    private static func readAll(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var offset: off_t = 0
        while bytes.count < 1 << 16 {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            offset += off_t(n)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
