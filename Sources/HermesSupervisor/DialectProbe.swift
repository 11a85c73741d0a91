import CProcessSpawn
import Foundation
import HermesCore

/// Learns a llama-server binary's dialect by running its `--help`, cached per binary path + mtime
/// (a rebuilt binary gets a fresh probe; an unchanged one costs a file read).
public struct DialectProbe: Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var binary: String
        public var reason: String
        public var description: String { "cannot learn the flags of \(binary): \(reason)" }
    }

    public var cacheDirectory: URL?
    /// How long `--help` may take.
    var timeout: Duration = .seconds(20)

    public init(cacheDirectory: URL?) {
        self.cacheDirectory = cacheDirectory
    }

    public func dialect(of binary: String) throws -> LlamaServerDialect {
        let attributes = try? FileManager.default.attributesOfItem(atPath: binary)
        let mtime = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let key = "\(binary)|\(mtime)"
        let cacheFile = cacheDirectory?.appendingPathComponent("\(stableHash(key)).json")
        if let cacheFile, let data = FileManager.default.contents(atPath: cacheFile.path),
            let cached = try? JSONDecoder().decode(LlamaServerDialect.self, from: data)
        {
            return cached
        }
        let help = try run(binary, ["--help"])
        let versionOutput = (try? run(binary, ["--version"])) ?? ""
        let version = versionOutput.split(separator: "\n").first { $0.hasPrefix("version:") }
            .map { $0.replacingOccurrences(of: "version: ", with: "") }
        let dialect = LlamaServerDialect.parse(help: help, version: version)
        guard dialect.accepts("--port") else {
            throw Failure(binary: binary, reason: "its --help lists no --port flag; is it llama-server?")
        }
        if let cacheFile, let data = try? JSONEncoder().encode(dialect) {
            try? FileManager.default.createDirectory(at: cacheFile.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? data.write(to: cacheFile, options: .atomic)
        }
        return dialect
    }

    /// Runs a short command and returns stdout+stderr (at most `maxOutput` bytes); bounded by `timeout`.
    ///
    /// Through the C spawn shim, not Foundation's `Process`: the daemon runs this too, and `Process.run`
    /// walks `/proc/self/fd` to close descriptors in the child, which was seen to crash with over a
    /// thousand descriptors open (a front under a connection flood); the shim closes them with
    /// `close_range`. The output goes to an unlinked temporary file, so a chatty child never blocks on
    /// a pipe nobody reads yet.
    func run(_ binary: String, _ arguments: [String]) throws -> String {
        var template = Array((NSTemporaryDirectory() + "/hermes-probe-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw Failure(binary: binary, reason: "no temporary file: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        defer { close(fd) }
        var argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var err: Int32 = 0
        let pid = hermes_spawn(binary, &argv, &envp, fd, 0, &err)
        guard pid > 0 else { throw Failure(binary: binary, reason: "it does not run: \(String(cString: strerror(err)))") }
        var status: Int32 = 0
        let deadline = ContinuousClock.now + timeout
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0, errno != EINTR { status = -1; break }
            if ContinuousClock.now >= deadline {
                kill(-pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0, errno == EINTR {}
                throw Failure(binary: binary, reason: "`\(arguments.joined(separator: " "))` did not finish in \(timeout)")
            }
            usleep(10_000)
        }
        let written = Int(lseek(fd, 0, SEEK_END))
        var bytes = [UInt8](repeating: 0, count: min(max(0, written), Self.maxOutput))
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        let text = String(decoding: bytes.prefix(max(0, n)), as: UTF8.self)
        let exited = status >= 0 && status & 0x7f == 0
        let code = exited ? (status >> 8) & 0xff : -1
        if code != 0, arguments == ["--help"] {
            let tail = text.split(separator: "\n").suffix(5).joined(separator: "\n")
            throw Failure(binary: binary, reason: "`--help` \(status < 0 ? "ended, status unknown" : ChildProcess.describe(status: status)): \(tail)")
        }
        return text
    }

    /// More than any llama-server's `--help` (about 30 KB); the rest is not read.
    static let maxOutput = 4 << 20
}

/// FNV-1a, for cache file names (stable across runs, unlike `Hasher`).
func stableHash(_ s: String) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01b3
    }
    return String(h, radix: 16)
}

/// Turns a profile into the exact command it will run: binary located, dialect learned, flags checked.
public struct CommandPlanner: Sendable {
    public var probe: DialectProbe
    public var binaryOverride: String?
    public var environment: [String: String]
    /// Where warm-cache profiles keep saved slots (`kv/`); nil: `warm_cache` adds nothing (dry runs).
    public var kvDirectory: URL?

    public init(probe: DialectProbe, binaryOverride: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.probe = probe
        self.binaryOverride = binaryOverride
        self.environment = environment
    }

    public func plan(_ profile: Profile) throws -> (command: LlamaServerCommand, dialect: LlamaServerDialect) {
        guard let settings = profile.llamaServer else {
            throw CommandBuildError(profile: profile.name, problems: ["it is a \(profile.kindName) profile, not a llama-server one"])
        }
        let binary = try BinaryLocator.resolve(profileBinary: settings.binary, override: binaryOverride, environment: environment)
        let dialect = try probe.dialect(of: binary)
        let warm = try warmLaunch(profile, settings)
        let command = try LlamaServerCommand.build(profile: profile.name, settings: settings, executable: binary, dialect: dialect, warm: warm)
        return (command, dialect)
    }
}
