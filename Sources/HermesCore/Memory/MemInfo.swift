#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Available system memory from `/proc/meminfo`: the pool a CPU-only server (and, until the GPU probe
/// says otherwise, any server) draws on.
///
/// `MemAvailable` rather than `MemFree`: it counts page cache the kernel will drop for us, which is
/// most of a machine's "used" memory after a model file has been read once.
public enum MemInfo {
    /// Why the figure could not be read.
    public struct ReadError: UserFacingError, Equatable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var code: String { "meminfo_unreadable" }
        public var message: String { "cannot read available memory from \(path)" }
        public var cause: String? { reason }
        public var description: String { "\(message): \(reason)" }
    }

    /// `MemAvailable` in bytes from the file at `path` (tests pass their own).
    public static func availableBytes(path: String = "/proc/meminfo") throws(ReadError) -> UInt64 {
        let text = try readSmallFile(path)
        guard let bytes = availableBytes(parsing: text) else {
            throw ReadError(path: path, reason: "no readable MemAvailable line (kernels before 3.14 lack it)")
        }
        return bytes
    }

    /// `MemAvailable` from meminfo text (`MemAvailable:   31457280 kB`), in bytes; nil when absent or
    /// malformed.
    public static func availableBytes(parsing text: String) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let value = UInt64(fields[1]) else { return nil }
            // The kernel always writes kB (meaning KiB); a bare number would be bytes.
            let unit: UInt64 = fields.count >= 3 && fields[2].lowercased() == "kb" ? 1024 : 1
            let (bytes, overflow) = value.multipliedReportingOverflow(by: unit)
            return overflow ? nil : bytes
        }
        return nil
    }

    /// Reads until end of file: procfs files report size 0, so size-based reads see nothing.
    static func readSmallFile(_ path: String, limit: Int = 1 << 20) throws(ReadError) -> String {
        // O_NONBLOCK: a FIFO given as the path (tests pass their own) must not block the caller.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw ReadError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while data.count < limit {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                data.append(contentsOf: chunk[0..<n])
            } else if n == 0 {
                break
            } else if errno == EAGAIN {
                throw ReadError(path: path, reason: "not readable without blocking (a FIFO?)")
            } else if errno != EINTR {
                throw ReadError(path: path, reason: String(cString: strerror(errno)))
            }
        }
        return String(decoding: data, as: UTF8.self)
    }
}
