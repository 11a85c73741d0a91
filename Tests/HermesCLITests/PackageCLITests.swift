import Foundation
import HermesTestSupport
import Testing

/// scripts/package.sh on the suite's own binary, then each package installed as a user installs it, in a
/// mount namespace without the Swift toolchain and without librocm_smi64 (PackageSandbox): the tarball
/// with `tar xzf -C /usr/local`, the .deb with a real `dpkg -i` (its maintainer scripts, the service
/// account, an upgrade over a running install). dpkg runs on throwaway overlays of /usr, /etc and /var
/// rather than with --root/--instdir: those chroot the maintainer scripts into an empty tree, and
/// `dpkg-deb -x` plus a postinst run by hand would skip what an upgrade really does (the old prerm, the
/// files replaced by rename under a running daemon, then the new postinst).
@Suite(.serialized, .realProcesses) struct PackageCLITests {
    let web = DaemonWiringCLITests()
    static let chat = #"{"messages":[{"role":"user","content":"Say hi"}],"max_tokens":4}"#

    /// A chat request through the front; a CPU server on a loaded box can miss the front's first-byte
    /// deadline, so a timeout gets two more tries (as in SurvivalCLITests).
    func chat(front: Int) async -> DaemonWiringCLITests.Reply {
        var answer = await web.http("POST", "http://127.0.0.1:\(front)/v1/chat/completions", body: Self.chat)
        for _ in 0..<2 where answer.status != 200 && answer.body.contains("timeout") {
            answer = await web.http("POST", "http://127.0.0.1:\(front)/v1/chat/completions", body: Self.chat)
        }
        return answer
    }

    /// Neither the toolchain nor the library exists in the sandbox (checked, not assumed).
    func expectNoToolchainNorRocmSMI(_ box: PackageSandbox) async throws {
        let r = try await box.sh("""
            for f in /opt/swift/usr/bin/swift /opt/swift/usr/bin/swiftc /opt/swift/usr/bin/clang; do [ ! -e "$f" ] || echo "present: $f"; done
            command -v swift swiftc && echo "on PATH: swift"
            find /usr /opt -name 'librocm_smi64*' 2>/dev/null | sed 's/^/present: /'
            ldconfig -p | grep -o '/[^ ]*librocm_smi64[^ ]*' | while read -r f; do [ ! -e "$f" ] || echo "present: $f"; done
            echo checked
            """)
        #expect(r.stdout == "checked\n", "\(r.stdout)\(r.stderr)")
    }

    /// `gpu --json` inside, on this GPU-less box and on the simulated gfx1151: sysfs answers (the
    /// simulated device is read from it), and the report says rocm_smi is not installed.
    func expectSysfsBecauseNoLibrary(_ box: PackageSandbox, _ binary: String, environment: [String: String]) async throws {
        let because = "sysfs, because rocm_smi: librocm_smi64 is not installed (looked for "
        let gpu = try await box.run([binary, "gpu", "--json"], environment: environment)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(gpu.stdout.utf8)) as? [String: Any], "\(gpu)")
        #expect((json["source_detail"] as? String)?.hasPrefix(because) == true, "\(gpu.stdout)")
        let script = TestEnvironment.repositoryRoot.appendingPathComponent("scripts/gpu/simulate-gfx1151.sh").path
        let sim = try await box.run([script, "--gtt-total", "96G", "--", binary, "gpu", "--json"], environment: environment)
        let simJSON = try #require(try JSONSerialization.jsonObject(with: Data(sim.stdout.utf8)) as? [String: Any], "\(sim)")
        #expect(simJSON["source"] as? String == "sysfs", "\(sim.stdout)")
        #expect((simJSON["source_detail"] as? String)?.hasPrefix(because) == true, "\(sim.stdout)")
        #expect((simJSON["devices"] as? [[String: Any]])?.count == 1, "\(sim.stdout)")
    }

    @Test func theTarballInstallsAndRunsWithoutTheToolchainOrRocmSMI() async throws {
        let packages = try await BuiltPackages.shared.get()
        let sums = try await runTool("/bin/sh", ["-c", "cd \"$(dirname \"$1\")\" && sha256sum -c \"$(basename \"$1\").sha256\" \"$(basename \"$2\").sha256\"",
                                                 "sh", packages.tarball, packages.deb])
        #expect(sums.status == 0, "\(sums)")
        #expect(URL(fileURLWithPath: packages.tarball).lastPathComponent.hasPrefix("hermes-runtime-0."), "\(packages.tarball)")
        #expect(packages.tarball.hasSuffix("-linux-x86_64.tar.gz"))

        let work = try TestEnvironment.temporaryDirectory("pkg-tar")
        let box = try await PackageSandbox(directory: work)
        let port = TestEnvironment.freePort(), front = TestEnvironment.freePort()
        let root = try TestEnvironment.configRoot(profiles: ["demo": try TestEnvironment.demoProfile(port: port)],
                                                  runtime: "front:\n  listen: 127.0.0.1:\(front)\n  default: demo\n")
        let env = ["HERMES_RUNTIME_HOME": root.path, "HERMES_RUNTIME_LLAMA_SERVER": try TestEnvironment.llamaServer()]
        let binary = "/usr/local/bin/hermes-runtime"
        defer {
            box.close()
            TestEnvironment.killProcesses(mentioning: root.path)
        }
        try await expectNoToolchainNorRocmSMI(box)

        let untar = try await box.run(["tar", "xzf", packages.tarball, "-C", "/usr/local", "--strip-components=1"])
        #expect(untar.status == 0, "\(untar)")
        let listing = try await box.sh("cd /usr/local && ls bin/hermes-runtime share/bash-completion/completions/hermes-runtime share/zsh/site-functions/_hermes-runtime share/fish/vendor_completions.d/hermes-runtime.fish lib/systemd/system/hermes-runtime.service lib/systemd/user/hermes-runtime.service share/doc/hermes-runtime/README.md")
        #expect(listing.status == 0, "\(listing)")
        let version = try await box.run([binary, "--version"])
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == packages.version, "\(version)")
        #expect(version.stdout.hasPrefix("hermes-runtime 0."))

        // The units name the installed binary, and systemd accepts them (no warning either).
        let unit = try await box.run(["cat", "/usr/local/lib/systemd/system/hermes-runtime.service"])
        #expect(unit.stdout.contains("\nExecStart=\(binary) serve\n"), "\(unit.stdout)")
        let verify = try await box.run(["systemd-analyze", "verify", "/usr/local/lib/systemd/user/hermes-runtime.service"])
        #expect(verify.status == 0 && verify.stderr.isEmpty, "\(verify)")

        // A tarball install gets the headless service from `service install --system` (into /etc, here an overlay).
        let system = try await box.run([binary, "service", "install", "--system"], environment: env)
        #expect(system.status == 0, "\(system)")
        #expect(system.stdout.contains("wrote /etc/systemd/system/hermes-runtime.service"), "\(system.stdout)")
        #expect(system.stdout.contains("useradd --system --user-group --home-dir /var/lib/hermes-runtime"), "\(system.stdout)")
        #expect(system.stdout.contains("systemctl enable --now hermes-runtime"), "\(system.stdout)")
        let verifySystem = try await box.run(["systemd-analyze", "verify", "/etc/systemd/system/hermes-runtime.service"])
        #expect(verifySystem.status == 0 && verifySystem.stderr.isEmpty, "\(verifySystem)")
        let removed = try await box.run([binary, "service", "uninstall", "--system"], environment: env)
        #expect(removed.status == 0 && removed.stdout.contains("systemctl stop hermes-runtime"), "\(removed)")
        #expect(try await box.run(["test", "-e", "/etc/systemd/system/hermes-runtime.service"]).status == 1)

        try await expectSysfsBecauseNoLibrary(box, binary, environment: env)
        let doctor = try await box.run([binary, "doctor"], environment: env)
        #expect(doctor.status == 0 || doctor.status == 1, "doctor ended by a signal? \(doctor)")
        #expect(doctor.stdout.contains("gpu: rocm_smi: librocm_smi64 is not installed (looked for "), "\(doctor.stdout)")
        #expect(doctor.stdout.contains("GPU memory is read from amdgpu's sysfs files instead"), "\(doctor.stdout)")

        let started = try await box.run([binary, "start", "demo"], environment: env)
        #expect(started.status == 0, "\(started)")
        let answer = await chat(front: front)
        #expect(answer.status == 200, "\(answer.body)")
        #expect(answer.body.contains("\"choices\""), "\(answer.body)")
        let stopped = try await box.run([binary, "daemon", "stop"], environment: env)
        #expect(stopped.status == 0, "\(stopped)")
    }
}
