import Foundation
import HermesTestSupport
import Testing

/// A private mount namespace shaped like a box that never had the Swift toolchain or librocm_smi64:
/// `/opt/swift` is an empty folder, every `librocm_smi64*` under `/usr` is hidden by an overlay whiteout,
/// every `/opt/rocm*` is an empty folder, and `/usr`, `/etc` and `/var` are throwaway overlays, so `tar
/// -C /usr/local`, `dpkg -i`, `useradd` and the maintainer scripts run for real and vanish with it.
///
/// One exception, said here and in docs/benchmarks.md: the suite packages its own DEBUG binary, which
/// links the Swift runtime dynamically (a release build links it in; scripts/package.sh refuses a
/// binary that needs it unless told), so the runtime libraries' folder `/opt/swift/usr/lib/swift/linux`
/// is mounted back read-only. The compiler, swift-driver, clang and the rest of the toolchain stay gone.
///
/// The namespace is held by `unshare -m sh` ending in `exec cat` on a pipe of ours: closing the pipe
/// (or this process dying) ends it. Commands enter it with `nsenter -t HOLDER -m`.
final class PackageSandbox: @unchecked Sendable {
    let directory: URL
    let holder: Process
    private let input: Pipe
    /// The namespace's identity (`mnt:[4026532...]`): what `close` matches processes on.
    let namespace: String
    /// Where the test model and the llama-server build appear inside, readable by any user.
    static let assets = "/usr/local/share/hermes-test"

    /// PATH inside: no `/opt/swift/usr/bin`.
    static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    init(directory: URL) async throws {
        self.directory = directory
        let llamaDir = URL(fileURLWithPath: try TestEnvironment.llamaServer()).deletingLastPathComponent().deletingLastPathComponent().path
        let modelDir = URL(fileURLWithPath: try TestEnvironment.testModel()).deletingLastPathComponent().path
        let script = #"""
            set -eu
            d="$1"; assets="$2"
            mkdir -p "$d/empty" "$d/opt-swift/usr/lib/swift/linux"
            # The debug binary's Swift runtime libraries, and nothing else of the toolchain.
            mount --bind /opt/swift/usr/lib/swift/linux "$d/opt-swift/usr/lib/swift/linux"
            mount -o remount,bind,ro "$d/opt-swift/usr/lib/swift/linux"
            mount --rbind "$d/opt-swift" /opt/swift
            for r in /opt/rocm*; do if [ -d "$r" ]; then mount --bind "$d/empty" "$r"; fi; done
            for t in usr etc var; do mkdir -p "$d/$t.upper" "$d/$t.work"; done
            find /usr -name 'librocm_smi64*' | while read -r f; do
              rel="${f#/usr/}"; mkdir -p "$d/usr.upper/$(dirname "$rel")"; mknod "$d/usr.upper/$rel" c 0 0
            done
            for t in usr etc var; do mount -t overlay overlay -o "lowerdir=/$t,upperdir=$d/$t.upper,workdir=$d/$t.work" "/$t"; done
            mkdir -p "$assets/llama-server" "$assets/models"
            mount --bind -o ro "$LLAMA_DIR" "$assets/llama-server"
            mount --bind -o ro "$MODEL_DIR" "$assets/models"
            echo ready
            exec cat
            """#
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", directory.path, Self.assets]
        p.environment = ["PATH": Self.path, "LLAMA_DIR": llamaDir, "MODEL_DIR": modelDir]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = errors
        try p.run()
        holder = p
        self.input = input
        let ready = await withCheckedContinuation { (c: CheckedContinuation<String, Never>) in
            Thread.detachNewThread {
                let line = output.fileHandleForReading.availableData
                c.resume(returning: String(decoding: line, as: UTF8.self))
            }
        }
        guard ready.hasPrefix("ready") else {
            let why = String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
            throw PackageSandboxError("the mount namespace was not set up: \(why)")
        }
        namespace = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(p.processIdentifier)/ns/mnt")) ?? "?"
    }

    /// `ARGS` inside the namespace with `environment` (PATH without the toolchain unless it names one).
    func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 240) async throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        var env = ["PATH": Self.path, "LANG": "C.UTF-8", "HOME": directory.appendingPathComponent("home").path]
        env.merge(environment) { _, new in new }
        return try await runTool("/usr/bin/nsenter", ["-t", "\(holder.processIdentifier)", "-m", "--"] + arguments,
                                 environment: env, timeout: timeout)
    }

    /// A shell script inside the namespace.
    func sh(_ script: String, environment: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await run(["/bin/sh", "-c", script], environment: environment)
    }

    /// SIGKILL to every process in the namespace (daemons, keepers, llama-servers a failed test left),
    /// then the holder ends and the namespace with its overlays goes.
    func close() {
        let me = getpid(), holderPid = holder.processIdentifier
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }.filter { pid in
            pid != me && pid != holderPid && (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/mnt")) == namespace
        }
        for pid in pids { kill(pid, SIGKILL) }
        _ = TestEnvironment.eventuallyBlocking { pids.allSatisfy { !TestEnvironment.isAlive($0) } }
        try? input.fileHandleForWriting.close()
        holder.waitUntilExit()
    }
}

struct PackageSandboxError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// scripts/package.sh run once per test run on the suite's own binary: revision 1 (tarball and .deb)
/// and revision 2 (the "new" .deb an upgrade installs over it).
actor BuiltPackages {
    static let shared = BuiltPackages()
    struct Packages: Sendable {
        var tarball: String
        var deb: String
        var debRevision2: String
        var version: String
        var output: String
    }
    private var built: Packages?

    func get() async throws -> Packages {
        if let built { return built }
        let binary = try TestEnvironment.builtProduct("hermes-runtime")
        let out = try TestEnvironment.temporaryDirectory("dist")
        let script = TestEnvironment.repositoryRoot.appendingPathComponent("scripts/package.sh").path
        let first = try await runTool(script, ["--binary", binary, "--out", out.appendingPathComponent("1").path, "--allow-dynamic-swift"])
        guard first.status == 0 else { throw PackageSandboxError("package.sh failed: \(first.stdout)\(first.stderr)") }
        let second = try await runTool(script, ["--binary", binary, "--out", out.appendingPathComponent("2").path,
                                                "--allow-dynamic-swift", "--revision", "2"])
        guard second.status == 0 else { throw PackageSandboxError("package.sh --revision 2 failed: \(second.stdout)\(second.stderr)") }
        let paths = first.stdout.split(separator: "\n").map(String.init), paths2 = second.stdout.split(separator: "\n").map(String.init)
        let version = try await runTool(binary, ["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard paths.count == 2, paths2.count == 2 else { throw PackageSandboxError("package.sh printed \(first.stdout) and \(second.stdout)") }
        let p = Packages(tarball: paths[0], deb: paths[1], debRevision2: paths2[1], version: version, output: first.stderr)
        built = p
        return p
    }
}
