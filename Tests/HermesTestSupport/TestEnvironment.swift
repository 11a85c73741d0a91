import Foundation

/// Where the tests find the real parts they run against: the llama-server build and the test model that
/// `scripts/setup.sh` puts in the cache. A missing part is an error naming that command, never a skip.
public enum TestEnvironment {
    public struct MissingPart: Error, CustomStringConvertible {
        public let what: String
        public let looked: String
        public var description: String {
            "\(what) not found (looked at \(looked)). Run `scripts/setup.sh` (or `scripts/test.sh`, which calls it) first."
        }
    }

    /// The bound on every wait for something that must happen (a server ready, an answer, a process
    /// gone): it only keeps a broken test from hanging the suite. How fast things happen is measured by
    /// the benchmarks (`scripts/bench/`), never by a test's bound: on a 2-core box running the whole
    /// suite a restart has taken over 30 s and a 128-token answer over 60 s.
    public static let hangBound: Double = 300

    /// Writes an executable script. Written by `install`, not by this process: a descriptor open for
    /// writing here would be copied into any child another test forks meanwhile, and exec of the script
    /// then fails with "Text file busy" until that child execs.
    public static func writeExecutable(_ text: String, to path: String) throws {
        let source = path + ".source"
        try text.write(toFile: source, atomically: false, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/install")
        p.arguments = ["-m", "755", source, path]
        try p.run()
        p.waitUntilExit()
        try? FileManager.default.removeItem(atPath: source)
        guard p.terminationStatus == 0 else { throw MissingPart(what: "install -m 755 \(path)", looked: "/usr/bin/install") }
    }

    /// The cache the setup scripts fill: `$HERMES_RUNTIME_CACHE` or `~/.cache/hermes-runtime`.
    public static var cacheDirectory: URL {
        if let c = ProcessInfo.processInfo.environment["HERMES_RUNTIME_CACHE"], !c.isEmpty {
            return URL(fileURLWithPath: c)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/hermes-runtime")
    }

    /// The llama-server binary: `$HERMES_RUNTIME_LLAMA_SERVER`, else the newest build in the cache.
    public static func llamaServer() throws -> String {
        if let p = ProcessInfo.processInfo.environment["HERMES_RUNTIME_LLAMA_SERVER"], !p.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: p) else {
                throw MissingPart(what: "llama-server", looked: p)
            }
            return p
        }
        let root = cacheDirectory.appendingPathComponent("llama-server")
        let builds = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        for build in builds.sorted().reversed() {
            let p = root.appendingPathComponent(build).appendingPathComponent("bin/llama-server").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw MissingPart(what: "llama-server", looked: root.path + "/b*/bin/llama-server")
    }

    /// The gemma 3 270M Q4_K_M test model: `$HERMES_RUNTIME_TEST_MODEL`, else the cache.
    public static func testModel() throws -> String {
        let p = ProcessInfo.processInfo.environment["HERMES_RUNTIME_TEST_MODEL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? cacheDirectory.appendingPathComponent("models/gemma-3-270m-q4_k_m.gguf").path
        guard FileManager.default.fileExists(atPath: p) else { throw MissingPart(what: "test model", looked: p) }
        return p
    }

    /// The repository's root (for `runtimes/`, `runtime.yaml` and the built binary).
    public static var repositoryRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }

    /// A fresh temporary directory, removed by the caller (or left for post-mortem on failure).
    public static func temporaryDirectory(_ label: String = "test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("hermes-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

extension TestEnvironment {
    /// A product built beside the test bundle (`.build/<triple>/debug/NAME`), such as `hermes-runtime`.
    /// `scripts/test.sh` builds every product before it runs the tests.
    public static func builtProduct(_ name: String) throws -> String {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        // The test runner may sit inside `NAME.xctest/` on some layouts.
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        let fallback = repositoryRoot.appendingPathComponent(".build/debug/\(name)").path
        if FileManager.default.isExecutableFile(atPath: fallback) { return fallback }
        throw MissingPart(what: "built product \(name)", looked: exe.deletingLastPathComponent().path)
    }
}
