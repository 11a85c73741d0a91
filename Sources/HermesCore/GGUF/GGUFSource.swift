#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes a GGUF parse reads: a read-only file seen through a window of at most 1 MiB, refilled with
/// `pread` as the cursor moves, or bytes already in memory (fuzzing, tests). Owned by one parse on one
/// thread.
final class GGUFSource {
    static let windowSize = 1 << 20

    let path: String
    let fileSize: UInt64
    /// Device, inode, size and modification time of an opened file; nil for bytes in memory.
    private(set) var identity: FileIdentity?
    /// -1 for bytes in memory: the window then holds all of them and is never refilled.
    private let fd: Int32
    private(set) var offset: UInt64 = 0
    private var window: [UInt8] = []
    private var windowStart: UInt64 = 0

    /// Opens `path` without blocking and refuses anything but a regular file.
    ///
    /// A FIFO (or a device) named as a model would block `open` until a writer appears and then feed
    /// endless bytes; `O_NONBLOCK` makes the open return at once so `fstat` can refuse it. On a regular
    /// file the flag changes nothing.
    init(path: String) throws(GGUFError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: Self.errnoText()) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = Self.errnoText()
            close(fd)
            throw .cannotOpen(path: path, reason: reason)
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            close(fd)
            throw .cannotOpen(path: path, reason: Self.describe(fileType: type))
        }
        self.fd = fd
        self.fileSize = UInt64(clamping: max(0, Int64(info.st_size)))
        self.identity = FileIdentity(info)
    }

    /// Bytes already in memory, reported under `path`.
    init(bytes: [UInt8], path: String) {
        self.path = path
        self.fd = -1
        self.fileSize = UInt64(bytes.count)
        self.window = bytes
    }

    deinit { if fd >= 0 { close(fd) } }

    static func errnoText() -> String { String(cString: strerror(errno)) }

    static func describe(fileType type: mode_t) -> String {
        switch type {
        case S_IFDIR: return "it is a directory"
        case S_IFIFO: return "it is a FIFO (named pipe), not a regular file"
        case S_IFCHR, S_IFBLK: return "it is a device, not a regular file"
        case S_IFSOCK: return "it is a socket, not a regular file"
        default: return "not a regular file"
        }
    }

    /// Up to the first `n` bytes of the file, for telling what it is.
    func prefix(_ n: Int) throws(GGUFError) -> [UInt8] {
        let available = Int(min(UInt64(max(n, 0)), fileSize))
        if available == 0 { return [] }
        try load(at: 0, count: available, "the header")
        return Array(window[0..<available])
    }

    /// Makes the window cover `count` bytes from `at` (which the caller has checked exist).
    private func load(at: UInt64, count: Int, _ what: @autoclosure () -> String) throws(GGUFError) {
        if at >= windowStart, at - windowStart <= UInt64(window.count),
           UInt64(count) <= UInt64(window.count) - (at - windowStart) { return }
        guard fd >= 0 else {
            throw .truncated(path: path, offset: at, reading: what(), fileSize: fileSize)
        }
        let size = Int(min(UInt64(max(count, Self.windowSize)), fileSize - at))
        var buffer = [UInt8](repeating: 0, count: size)
        var filled = 0
        var failure: Int32 = 0
        buffer.withUnsafeMutableBytes { raw in
            while filled < size {
                let n = pread(fd, raw.baseAddress! + filled, size - filled, off_t(at) + off_t(filled))
                if n > 0 { filled += n; continue }
                if n < 0, errno == EINTR { continue }
                failure = n < 0 ? errno : 0
                return
            }
        }
        if filled < count {
            if failure != 0 {
                throw .cannotOpen(path: path, reason: "read error at offset \(at + UInt64(filled)) while reading \(what()): \(String(cString: strerror(failure)))")
            }
            // The file shrank under us (a copy being overwritten): say so as a truncation.
            throw .truncated(path: path, offset: at + UInt64(filled), reading: what(), fileSize: at + UInt64(filled))
        }
        if filled < size { buffer.removeLast(size - filled) }
        window = buffer
        windowStart = at
    }

    /// The next `count` bytes; a truncation error names `what` when the file ends first.
    func bytes(_ count: Int, _ what: @autoclosure () -> String) throws(GGUFError) -> ArraySlice<UInt8> {
        guard count >= 0, UInt64(count) <= fileSize - offset else {
            throw .truncated(path: path, offset: offset, reading: what(), fileSize: fileSize)
        }
        try load(at: offset, count: count, what())
        let start = Int(offset - windowStart)
        offset += UInt64(count)
        return window[start..<start + count]
    }

    func skip(_ count: UInt64, _ what: @autoclosure () -> String) throws(GGUFError) {
        guard count <= fileSize - offset else {
            throw .truncated(path: path, offset: offset, reading: what(), fileSize: fileSize)
        }
        offset += count
    }

    private func integer<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(GGUFError) -> T {
        let size = MemoryLayout<T>.size
        guard UInt64(size) <= fileSize - offset else {
            throw .truncated(path: path, offset: offset, reading: what(), fileSize: fileSize)
        }
        try load(at: offset, count: size, what())
        let start = Int(offset - windowStart)
        offset += UInt64(size)
        let raw = window.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: start, as: T.self) }
        return T(littleEndian: raw)
    }

    func u8(_ what: @autoclosure () -> String) throws(GGUFError) -> UInt8 { try integer(UInt8.self, what()) }
    func u16(_ what: @autoclosure () -> String) throws(GGUFError) -> UInt16 { try integer(UInt16.self, what()) }
    func u32(_ what: @autoclosure () -> String) throws(GGUFError) -> UInt32 { try integer(UInt32.self, what()) }
    func u64(_ what: @autoclosure () -> String) throws(GGUFError) -> UInt64 { try integer(UInt64.self, what()) }
}
