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

    /// Runs a short command and returns stdout+stderr; bounded to 20 s.
    func run(_ binary: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw Failure(binary: binary, reason: "it does not run: \(error.localizedDescription)")
        }
        // Kill it if it hangs; reading to EOF then returns because the pipe closes.
        let timedOut = TimeoutFlag()
        let watchdog = DispatchWorkItem { [process] in
            if process.isRunning { timedOut.set(); process.terminate() }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: watchdog)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        watchdog.cancel()
        if timedOut.isSet {
            throw Failure(binary: binary, reason: "`\(arguments.joined(separator: " "))` did not finish in 20 s")
        }
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        if process.terminationStatus != 0, arguments == ["--help"] {
            let tail = text.split(separator: "\n").suffix(5).joined(separator: "\n")
            throw Failure(binary: binary, reason: "`--help` exited \(process.terminationStatus): \(tail)")
        }
        return text
    }
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
        let command = try LlamaServerCommand.build(profile: profile.name, settings: settings, executable: binary, dialect: dialect)
        return (command, dialect)
    }
}

/// A flag set from the watchdog's queue and read from the caller's.
final class TimeoutFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
