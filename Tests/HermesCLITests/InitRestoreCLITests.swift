import Foundation
import HermesCore
import HermesTestSupport
import Testing

/// `init`, `config backups` and `config restore` through the built binary on temp config roots.
@Suite struct InitRestoreCLITests {
    struct BackupList: Decodable {
        struct Backup: Decodable {
            var id: String
            var reason: String
            var files: [String]
        }
        var backups: [Backup]
    }

    func backups(_ cli: CLIRunner) async throws -> [BackupList.Backup] {
        let r = try await cli.run(["config", "backups", "--json"])
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return try d.decode(BackupList.self, from: Data(r.stdout.utf8)).backups
    }

    @Test func initOnAnEmptyRootWritesThePresetWithoutABackup() async throws {
        let root = try TestEnvironment.temporaryDirectory("empty-root").appendingPathComponent("config")
        let (cli, _) = try isolatedCLI(root: root, extraEnvironment: ["DEMO_API_KEY": "value-that-must-not-show"])
        let r = try await cli.run(["init", "--preset", "cpu"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("preset: cpu (asked for)"))
        #expect(r.stdout.contains("API keys set: DEMO_API_KEY (values not shown)"))
        #expect(!r.output.contains("value-that-must-not-show"))
        #expect(!r.stdout.contains("backed up"))
        #expect(r.stdout.contains("wrote 3 file(s)"))
        let rendered = ConfigPreset.cpu.render()
        #expect(try readText(root, "runtime.yaml") == rendered.runtime)
        for p in rendered.profiles { #expect(try readText(root, "runtimes/\(p.name).yaml") == p.text) }
        await #expect(try backups(cli).isEmpty)
        #expect(try await cli.run(["config", "validate"]).status == 0)
    }

    @Test func initWithAnAMDGPUChoosesStrixHaloAndTheLargestModel() async throws {
        let root = try TestEnvironment.temporaryDirectory("gpu-root")
        let (cli, home) = try isolatedCLI(root: root)
        // A sysfs tree with one gfx1151-like APU: 512 MiB carve-out, 96 GiB GTT.
        let sys = try TestEnvironment.temporaryDirectory("sysfs")
        let dev = sys.appendingPathComponent("class/drm/card0/device")
        try FileManager.default.createDirectory(at: dev, withIntermediateDirectories: true)
        for (file, value) in ["vendor": "0x1002", "device": "0x1586", "mem_info_vram_total": "536870912", "mem_info_vram_used": "0",
                              "mem_info_gtt_total": "103079215104", "mem_info_gtt_used": "0"] {
            try (value + "\n").write(to: dev.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        let models = home.appendingPathComponent(".models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try Data(Array("GGUF".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0, count: 4000)).write(to: models.appendingPathComponent("big-q4.gguf"))
        try Data(Array("GGUF".utf8) + [3, 0, 0, 0]).write(to: models.appendingPathComponent("small.gguf"))

        let r = try await cli.run(["init", "--sysfs-root", sys.path])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("AMD GPU: "))
        #expect(r.stdout.contains("GTT 96"), "\(r.stdout)")
        #expect(r.stdout.contains("preset: strix-halo (assumed: an AMD GPU was found"))
        #expect(r.stdout.contains("coding-local model: ~/.models/big-q4.gguf, the largest GGUF found"))
        let local = try readText(root, "runtimes/coding-local.yaml")
        #expect(local.contains("\nmodel: ~/.models/big-q4.gguf\n"))
        #expect(local.contains("\nflash_attn: on\n"))
        #expect(try readText(root, "runtime.yaml").contains("default: coding-local"))
        // Without the fake GPU the same machine gets the CPU preset.
        let cpuRoot = try TestEnvironment.temporaryDirectory("nogpu-root")
        var cpuCLI = try CLIRunner(configRoot: cpuRoot)
        cpuCLI.environment["HOME"] = home.path
        let none = try TestEnvironment.temporaryDirectory("nosys")
        let c = try await cpuCLI.run(["init", "--sysfs-root", none.path])
        #expect(c.status == 0, "\(c.output)")
        #expect(c.stdout.contains("AMD GPU: none found"))
        #expect(c.stdout.contains("preset: cpu (assumed: no AMD GPU was found"))
    }

    @Test func initOnAnExistingRootBacksUpFirstAndLeavesOtherProfiles() async throws {
        let root = try TestEnvironment.configRoot(profiles: ["mine": "kind: openai\nbase_url: http://127.0.0.1:9/v1\n"])
        let before = try readText(root, "runtime.yaml")
        let (cli, _) = try isolatedCLI(root: root)
        let r = try await cli.run(["init", "--preset", "hosted"])  // no TTY: asks nothing
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("backed up the previous config as "))
        #expect(r.stdout.contains("left as they are: runtimes/mine.yaml"))
        #expect(r.stdout.contains("OPENROUTER_API_KEY, TOGETHER_API_KEY"), "says which cloud keys are not set")
        let list = try await backups(cli)
        #expect(list.count == 1)
        #expect(list.first?.reason == "init")
        #expect(list.first?.files == ["runtime.yaml", "runtimes/mine.yaml"])
        #expect(try readText(root, "runtimes/mine.yaml").contains("127.0.0.1:9"))
        #expect(try readText(root, "runtime.yaml").contains("default: coding-burst"))
        let listed = try await cli.run(["config", "backups"])
        #expect(listed.stdout.contains("init: before init --preset hosted"))

        // The backup undoes the init.
        let restored = try await cli.run(["config", "restore", try #require(list.first?.id)])
        #expect(restored.status == 0, "\(restored.output)")
        #expect(try readText(root, "runtime.yaml") == before)
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("runtimes/coding-burst.yaml").path))
    }

    /// A root made by `init --preset cpu` twice: the second run leaves a backup of the first.
    func rootWithABackup() async throws -> (CLIRunner, URL, String) {
        let root = try TestEnvironment.temporaryDirectory("restore-root")
        let (cli, _) = try isolatedCLI(root: root)
        #expect(try await cli.run(["init", "--preset", "cpu"]).status == 0)
        #expect(try await cli.run(["init", "--preset", "cpu", "--yes"]).status == 0)
        let id = try await #require(try backups(cli).last?.id)
        return (cli, root, id)
    }

    @Test func restoreRoundTripAndUndo() async throws {
        let (cli, root, id) = try await rootWithABackup()
        let original = try ConfigSnapshot.read(from: RuntimePaths(configRoot: root, stateDirectory: root))
        try (try readText(root, "runtime.yaml")).replacingOccurrences(of: "default: demo-local", with: "default: demo-burst")
            .write(to: root.appendingPathComponent("runtime.yaml"), atomically: true, encoding: .utf8)
        try "kind: openai\nbase_url: http://127.0.0.1:9/v1\n".write(to: root.appendingPathComponent("runtimes/extra.yaml"), atomically: true, encoding: .utf8)
        let edited = try ConfigSnapshot.read(from: RuntimePaths(configRoot: root, stateDirectory: root))

        let r = try await cli.run(["config", "restore", id])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("wrote   runtime.yaml"))
        #expect(r.stdout.contains("removed runtimes/extra.yaml"))
        #expect(try ConfigSnapshot.read(from: RuntimePaths(configRoot: root, stateDirectory: root)) == original)
        let undoLine = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("undo: hermes-runtime config restore ") })
        let undoID = String(undoLine.split(separator: " ").last!)
        await #expect(try backups(cli).first { $0.id == undoID }?.reason == "pre-restore")

        let undone = try await cli.run(["config", "restore", undoID])
        #expect(undone.status == 0, "\(undone.output)")
        #expect(try ConfigSnapshot.read(from: RuntimePaths(configRoot: root, stateDirectory: root)) == edited)
    }

    @Test func routingOnlyRestoreLeavesEverythingElse() async throws {
        let (cli, root, id) = try await rootWithABackup()
        let local = try "# my own note on demo-local\n" + readText(root, "runtimes/demo-local.yaml")
            .replacingOccurrences(of: "burst: demo-burst\n", with: "")
            .replacingOccurrences(of: "output_reserve: 256", with: "output_reserve: 10")
            .replacingOccurrences(of: "threads: 2", with: "threads: 3")
        try local.write(to: root.appendingPathComponent("runtimes/demo-local.yaml"), atomically: true, encoding: .utf8)
        let runtime = try "# my own note on the front\n" + readText(root, "runtime.yaml")
            .replacingOccurrences(of: "default: demo-local", with: "default: demo-burst")
            .replacingOccurrences(of: "listen: 127.0.0.1:8082", with: "listen: 127.0.0.1:8083")
        try runtime.write(to: root.appendingPathComponent("runtime.yaml"), atomically: true, encoding: .utf8)
        let burstBefore = try readText(root, "runtimes/demo-burst.yaml")

        let r = try await cli.run(["config", "restore", id, "--routing-only"])
        #expect(r.status == 0, "\(r.output)")
        #expect(!r.stdout.contains("comments are gone"), "\(r.output)")
        #expect(try readText(root, "runtime.yaml").hasPrefix("# my own note on the front\n"))
        #expect(try readText(root, "runtimes/demo-local.yaml").hasPrefix("# my own note on demo-local\n"))
        let paths = RuntimePaths(configRoot: root, stateDirectory: root.appendingPathComponent("state"))
        let config = try ConfigLoader.load(paths: paths)
        #expect(config.runtime.front.defaultProfile == "demo-local")
        #expect(config.runtime.front.port == 8083)
        #expect(config.profiles["demo-local"]?.burst == "demo-burst")
        #expect(config.profiles["demo-local"]?.llamaServer?.outputReserve == 256)
        #expect(config.profiles["demo-local"]?.llamaServer?.threads == 3)
        #expect(try readText(root, "runtimes/demo-burst.yaml") == burstBefore)
    }

    @Test func restoreNamesTheBackupsItKnows() async throws {
        let (cli, _, id) = try await rootWithABackup()
        let r = try await cli.run(["config", "restore", "19990101-000000"])
        #expect(r.status != 0)
        #expect(r.output.contains("no backup '19990101-000000'"))
        #expect(r.output.contains(id))
    }
}
