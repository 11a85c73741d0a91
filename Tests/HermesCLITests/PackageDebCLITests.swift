import Foundation
import HermesTestSupport
import Testing

/// The .deb through a real `dpkg -i` in the sandbox: the service account and its folders, the system
/// unit systemd accepts, the daemon run as that account the way the unit runs it, and an upgrade by
/// package with a model loaded: the new package's postinst runs `daemon restart`, the llama-server keeps
/// its pid, and the new daemon runs the binary just installed.
extension PackageCLITests {
    static let config = "/etc/hermes-runtime", state = "/var/lib/hermes-runtime"

    /// `status --json` of the system service, asked as root (`--config /etc/hermes-runtime` finds the
    /// state in /var/lib/hermes-runtime; root may use the service's socket).
    func systemStatus(_ box: PackageSandbox) async throws -> CLIStatus {
        let r = try await box.run(["/usr/bin/hermes-runtime", "status", "--json", "--config", Self.config])
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return try #require(try? d.decode(CLIStatus.self, from: Data(r.stdout.utf8)), "\(r)")
    }

    @Test func theDebMakesTheServiceAccountAndAnUpgradeKeepsTheLoadedModel() async throws {
        let packages = try await BuiltPackages.shared.get()
        let work = try TestEnvironment.temporaryDirectory("pkg-deb")
        let box = try await PackageSandbox(directory: work)
        defer { box.close() }
        try await expectNoToolchainNorRocmSMI(box)

        let install = try await box.run(["dpkg", "-i", packages.deb])
        #expect(install.status == 0, "\(install)")
        let version = try await box.run(["/usr/bin/hermes-runtime", "--version"])
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == packages.version, "\(version)")
        let query = try await box.run(["dpkg-query", "-W", "-f", "${Version} ${Status}", "hermes-runtime"])
        #expect(query.stdout.hasSuffix("-1 install ok installed"), "\(query)")

        // The account: a system user whose home is the state folder, in the GPU groups this box has.
        let account = try await box.run(["getent", "passwd", "hermes-runtime"])
        #expect(account.stdout.hasSuffix(":\(Self.state):/usr/sbin/nologin\n"), "\(account)")
        let groups = try await box.run(["id", "-nG", "hermes-runtime"])
        let member = groups.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        for group in ["video", "render"] {
            guard try await box.run(["getent", "group", group]).status == 0 else { continue }
            #expect(member.contains(group), "\(groups)")
        }
        let folders = try await box.run(["stat", "-c", "%n %U:%G %a", Self.config, Self.state])
        #expect(folders.stdout == "\(Self.config) root:hermes-runtime 2750\n\(Self.state) hermes-runtime:hermes-runtime 750\n", "\(folders)")
        let verify = try await box.run(["systemd-analyze", "verify", "/usr/lib/systemd/system/hermes-runtime.service"])
        #expect(verify.status == 0 && verify.stderr.isEmpty, "\(verify)")
        try await expectSysfsBecauseNoLibrary(box, "/usr/bin/hermes-runtime", environment: ["HERMES_RUNTIME_HOME": work.path])

        // The config an administrator writes, the model and llama-server where the account can read them.
        let port = TestEnvironment.freePort(), front = TestEnvironment.freePort()
        let model = try TestEnvironment.testModel()
        let profile = try TestEnvironment.demoProfile(port: port)
            .replacingOccurrences(of: model, with: "\(PackageSandbox.assets)/models/\(URL(fileURLWithPath: model).lastPathComponent)")
        let written = try await box.sh("""
            mkdir -p \(Self.config)/runtimes
            printf '%s' "$RUNTIME" > \(Self.config)/runtime.yaml
            printf '%s' "$PROFILE" > \(Self.config)/runtimes/demo.yaml
            chgrp -R hermes-runtime \(Self.config) && chmod -R g+rX \(Self.config)
            """, environment: ["RUNTIME": "front:\n  listen: 127.0.0.1:\(front)\n  default: demo\n", "PROFILE": profile])
        #expect(written.status == 0, "\(written)")

        // The daemon as the unit runs it: the account, its HOME, HERMES_RUNTIME_HOME and _STATE.
        let server = "\(PackageSandbox.assets)/llama-server/bin/\(URL(fileURLWithPath: try TestEnvironment.llamaServer()).lastPathComponent)"
        let started = try await box.run(["runuser", "-u", "hermes-runtime", "--", "env", "HOME=\(Self.state)",
                                         "HERMES_RUNTIME_HOME=\(Self.config)", "HERMES_RUNTIME_STATE=\(Self.state)",
                                         "HERMES_RUNTIME_LLAMA_SERVER=\(server)", "/usr/bin/hermes-runtime", "start", "demo"])
        #expect(started.status == 0, "\(started)")
        let before = try await systemStatus(box)
        let loaded = try #require(before.servers.first { $0.profile == "demo" }, "\(before)")
        let pid = try #require(loaded.pid)
        let answer = await chat(front: front)
        #expect(answer.status == 200, "\(answer.body)")
        let inode = try await box.run(["stat", "-c", "%i", "/usr/bin/hermes-runtime"]).stdout

        // The "new" package (revision 2) over the running install.
        let upgrade = try await box.run(["dpkg", "-i", packages.debRevision2])
        #expect(upgrade.status == 0, "\(upgrade)")
        #expect(upgrade.stdout.contains("daemon restarted: pid \(before.daemon?.pid ?? 0) -> "), "\(upgrade)")
        #expect(upgrade.stdout.contains("kept running: demo"), "\(upgrade)")
        #expect(try await box.run(["dpkg-query", "-W", "-f", "${Version}", "hermes-runtime"]).stdout.hasSuffix("-2"))
        #expect(try await box.run(["stat", "-c", "%i", "/usr/bin/hermes-runtime"]).stdout != inode, "dpkg put a new file in place")

        let after = try await systemStatus(box)
        let kept = try #require(after.servers.first { $0.profile == "demo" }, "\(after)")
        #expect(kept.pid == pid, "the upgrade reloaded the model: \(pid) -> \(String(describing: kept.pid))")
        #expect(kept.adopted == true)
        #expect(TestEnvironment.isAlive(pid))
        let daemon = try #require(after.daemon)
        #expect(daemon.pid != before.daemon?.pid)
        #expect(daemon.guardPid == before.daemon?.guardPid, "the service's main process (the guard) stays")
        // The new daemon runs the file the upgrade installed, not the old one it replaced.
        let exe = try await box.run(["readlink", "/proc/\(daemon.pid)/exe"])
        #expect(exe.stdout == "/usr/bin/hermes-runtime\n", "\(exe)")
        let again = await chat(front: front)
        #expect(again.status == 200, "\(again.body)")

        let stopped = try await box.run(["/usr/bin/hermes-runtime", "daemon", "stop", "--config", Self.config])
        #expect(stopped.status == 0, "\(stopped)")
    }
}
