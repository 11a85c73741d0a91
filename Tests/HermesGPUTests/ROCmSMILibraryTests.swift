import Foundation
import HermesTestSupport
import Testing
@testable import HermesGPU

/// librocm_smi64 is loaded at run time (issue #21): the binary starts without it, finds it where AMD's
/// packages put it, and says which file it uses or why sysfs answers instead.
@Suite(.serialized) struct ROCmSMILibraryTests {
    /// A fake `/opt` with ROCm installs, each holding an (empty) library file.
    func optTree(_ folders: [String: [String]]) throws -> URL {
        let opt = try TestEnvironment.temporaryDirectory("opt")
        for (folder, files) in folders {
            let lib = opt.appendingPathComponent("\(folder)/lib")
            try FileManager.default.createDirectory(at: lib, withIntermediateDirectories: true)
            for f in files { FileManager.default.createFile(atPath: lib.appendingPathComponent(f).path, contents: Data()) }
        }
        return opt
    }

    @Test func theSearchOrderIsTheVariableThenOptRocmNewestFirstThenTheLinkersPath() throws {
        let opt = try optTree([
            "rocm": ["librocm_smi64.so.7"],
            "rocm-6.4.0": ["librocm_smi64.so", "librocm_smi64.so.7"],
            "rocm-7.10.1": ["librocm_smi64.so.7.1", "librocm_smi64.so.7.10"],
            "rocm-7.2.4": ["librocm_smi64.so.7"],
            "rocm-5.0.0": [],
            "other": ["librocm_smi64.so"],
        ])
        defer { try? FileManager.default.removeItem(at: opt) }
        let found = ROCmSMILibrary.candidates(environment: [:], optDirectory: opt.path)
        #expect(found.map(\.file) == [
            opt.path + "/rocm/lib/librocm_smi64.so.7",
            opt.path + "/rocm-7.10.1/lib/librocm_smi64.so.7.10",  // 7.10 is newer than 7.2, and .so.7.10 than .so.7.1
            opt.path + "/rocm-7.2.4/lib/librocm_smi64.so.7",
            opt.path + "/rocm-6.4.0/lib/librocm_smi64.so",         // the unversioned name wins inside a folder
            "librocm_smi64.so.1", "librocm_smi64.so",
        ])
        #expect(found.allSatisfy { $0.explicit == nil })
        #expect(found[1].why == "found in \(opt.path)/rocm-7.10.1/lib")

        // The variable overrides every search: a file as it is, a folder searched like /opt's.
        let file = ROCmSMILibrary.candidates(environment: ["HERMES_RUNTIME_ROCM_SMI": "/x/librocm_smi64.so.9"], optDirectory: opt.path)
        #expect(file.map(\.file) == ["/x/librocm_smi64.so.9"])
        #expect(file.first?.explicit == "HERMES_RUNTIME_ROCM_SMI")
        let folder = ROCmSMILibrary.candidates(environment: ["HERMES_RUNTIME_ROCM_SMI": opt.path + "/rocm-7.2.4/lib"], optDirectory: "/none")
        #expect(folder.map(\.file) == [opt.path + "/rocm-7.2.4/lib/librocm_smi64.so.7"])
    }

    @Test func aMissingOrForeignLibraryIsAReasonNotACrash() throws {
        let named = ROCmSMILibrary.load(environment: ["HERMES_RUNTIME_ROCM_SMI": "/nonexistent/librocm_smi64.so"])
        guard case .failure(let e) = named else { Issue.record("loaded a file that does not exist"); return }
        #expect(e.code == .unavailable)
        #expect(e.message.contains("HERMES_RUNTIME_ROCM_SMI names /nonexistent/librocm_smi64.so"), "\(e)")
        // A real shared library that is not rocm_smi: loaded, lacks the functions, refused.
        let libz = try #require(["/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1"]
            .first { FileManager.default.fileExists(atPath: $0) })
        let foreign = ROCmSMILibrary.load(environment: ["HERMES_RUNTIME_ROCM_SMI": libz])
        guard case .failure(let f) = foreign else { Issue.record("took libz for rocm_smi"); return }
        #expect(f.message.contains("lacks a function") || f.message.contains("not installed"), "\(f)")
    }

    @Test func theBinaryDoesNotNeedTheLibraryToStart() async throws {
        let cli = try TestEnvironment.builtProduct("hermes-runtime")
        let r = try await runProcess("/usr/bin/readelf", ["-d", cli])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("(NEEDED)"), "\(r)")
        #expect(!r.stdout.contains("rocm_smi"), "linked at load time: \(r.stdout)")
    }

    /// The real library copied where no search looks but the variable: found, used and named; then a
    /// wrong name: the simulated gfx1151 is read from sysfs and the report says why.
    @Test func theRealLibraryInAnotherPlaceIsFoundAndUsedOrSysfsSaysWhy() async throws {
        let installed = try #require(["/usr/lib/librocm_smi64.so.1.0", "/lib/librocm_smi64.so.1.0"]
            .first { FileManager.default.fileExists(atPath: $0) }, "librocm_smi64 is missing: run scripts/setup-system.sh")
        let opt = try optTree(["rocm-9.9.9": []])
        defer { try? FileManager.default.removeItem(at: opt) }
        let lib = opt.appendingPathComponent("rocm-9.9.9/lib")
        try FileManager.default.copyItem(atPath: installed, toPath: lib.appendingPathComponent("librocm_smi64.so.1").path)
        let cli = try TestEnvironment.builtProduct("hermes-runtime")
        let gpu = { (value: String) async throws -> [String: Any] in
            let r = try await runProcess(SimulatedGfx1151Tests.script,
                                         ["--vram-total", "512M", "--gtt-total", "96G", "--",
                                          "/usr/bin/env", "HERMES_RUNTIME_ROCM_SMI=\(value)", cli, "gpu", "--json"])
            try #require(r.status == 0, "\(r)")
            return try SimulatedGfx1151Tests.json(r.stdout)
        }
        let found = try await gpu(lib.path)
        #expect(found["source"] as? String == "rocm_smi")
        #expect(found["source_detail"] as? String == "rocm_smi, \(lib.path)/librocm_smi64.so.1 (named by HERMES_RUNTIME_ROCM_SMI)", "\(found)")
        #expect((found["devices"] as? [[String: Any]])?.count == 1)

        let missing = try await gpu("/nonexistent")
        #expect(missing["source"] as? String == "sysfs")
        #expect((missing["source_detail"] as? String)?.hasPrefix("sysfs, because rocm_smi: HERMES_RUNTIME_ROCM_SMI names /nonexistent") == true,
                "\(missing)")
        #expect((missing["devices"] as? [[String: Any]])?.count == 1, "the simulated gfx1151 is still reported")
    }
}
