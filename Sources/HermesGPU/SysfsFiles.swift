#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let posixRead = Glibc.read
#elseif canImport(Darwin)
private let posixRead = Darwin.read
#endif

/// Small, fast reads of sysfs files and directories with plain POSIX calls: a probe reads a few dozen
/// files and must stay well under a millisecond, and every failure must come back as a message, never
/// a crash.
package enum SysfsFiles {
    /// The text of a small file, or why not. A sysfs attribute is at most a page, so one stack buffer
    /// holds it (no heap allocation per read: a probe does a few dozen of these).
    static func read(_ path: String) -> Result<String, ReadFailure> {
        // O_NONBLOCK: a FIFO planted in a fixture tree (or a device node) must not block the probe on
        // open; a sysfs attribute or a regular file reads the same with it.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return .failure(ReadFailure(errno: errno)) }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8192) { buffer in
            while true {
                let n = posixRead(fd, buffer.baseAddress!, buffer.count)
                if n < 0 {
                    if errno == EINTR { continue }
                    return .failure(ReadFailure(errno: errno))
                }
                // One read is the whole file: sysfs hands an attribute over at once, and a regular file
                // gives less than asked only at its end. (Saves the read that would return 0.)
                guard n < buffer.count else { return .failure(ReadFailure(message: "larger than 8 KiB")) }
                return .success(String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<n]), as: UTF8.self))
            }
        }
    }

    /// The entries of a directory (without `.` and `..`), or nil when it cannot be opened.
    static func list(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether a path exists (following links).
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// Where a symbolic link points (as written in the link), or nil when it is not one.
    static func linkTarget(_ path: String) -> String? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 4096) { buffer in
            let n = readlink(path, buffer.baseAddress!, buffer.count - 1)
            guard n > 0 else { return nil }
            buffer[n] = 0
            return String(cString: buffer.baseAddress!)
        }
    }

    /// The canonical path, following every link.
    static func resolve(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    package struct ReadFailure: Error, Equatable, CustomStringConvertible {
        package var message: String
        package init(message: String) { self.message = message }
        init(errno code: Int32) {
            switch code {
            case ENOENT: message = "missing"
            case EISDIR: message = "is a directory, not a file"
            case EACCES, EPERM: message = "permission denied"
            case EAGAIN: message = "not readable without blocking (a FIFO or device?)"
            default: message = String(cString: strerror(code))
            }
        }
        package var description: String { message }
    }
}

/// Parsing of the values sysfs files hold.
package enum SysfsValue {
    /// A decimal count (`mem_info_*`, `gpu_id`, `vram_<id>`), trimmed of whitespace.
    package static func unsigned(_ text: String) -> Result<UInt64, SysfsFiles.ReadFailure> {
        let t = trimmed(text)
        guard !t.isEmpty else { return .failure(.init(message: "empty, expected a number")) }
        guard let v = UInt64(t) else { return .failure(.init(message: "expected a number, found '\(shown(t))'")) }
        return .success(v)
    }

    /// A hex id as `0x1002` (`vendor`, `device`).
    package static func hexID(_ text: String) -> Result<UInt16, SysfsFiles.ReadFailure> {
        var t = trimmed(text).lowercased()
        if t.hasPrefix("0x") { t.removeFirst(2) }
        guard !t.isEmpty, let v = UInt16(t, radix: 16) else {
            return .failure(.init(message: "expected a hex id like 0x1002, found '\(shown(trimmed(text)))'"))
        }
        return .success(v)
    }

    /// A signed decimal (temperatures in millidegrees may be negative).
    package static func signed(_ text: String) -> Result<Int64, SysfsFiles.ReadFailure> {
        let t = trimmed(text)
        guard let v = Int64(t) else { return .failure(.init(message: "expected a number, found '\(shown(t))'")) }
        return .success(v)
    }

    package static func trimmed(_ text: String) -> String {
        let u = Array(text.utf8)
        var start = 0, end = u.count
        while start < end, isSpace(u[start]) { start += 1 }
        while end > start, isSpace(u[end - 1]) { end -= 1 }
        return String(decoding: u[start..<end], as: UTF8.self)
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D || b == 0 }

    /// At most 40 printable characters of what we found, so a binary file cannot flood a message.
    package static func shown(_ text: String) -> String {
        let printable = text.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" }
        return printable.count > 40 ? String(printable.prefix(40)) + "..." : String(printable)
    }

    /// The PCI address a KFD topology node's `properties` text names (`location_id` and `domain`
    /// lines), or nil when either is missing or not a number.
    package static func kfdPCIAddress(properties: String) -> String? {
        var location: UInt64?, domain: UInt64?
        for line in properties.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2 else { continue }
            if parts[0] == "location_id" { location = UInt64(parts[1]) }
            if parts[0] == "domain" { domain = UInt64(parts[1]) }
        }
        guard let location, let domain else { return nil }
        return PCIAddress.format(domain: domain, bus: (location >> 8) & 0xFF, device: (location >> 3) & 0x1F, function: location & 0x7)
    }
}
