import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// `init`'s templates against the files this repository ships: they must never drift apart.
@Suite struct ConfigPresetTests {
    var repo: URL { TestEnvironment.repositoryRoot }

    @Test(arguments: ConfigPreset.allCases)
    func presetProfilesAreTheRepositoryFilesByteForByte(_ preset: ConfigPreset) throws {
        let rendered = preset.render()
        #expect(rendered.profiles.map(\.name) == preset.profiles)
        for p in rendered.profiles {
            let shipped = try String(contentsOf: repo.appendingPathComponent("runtimes/\(p.name).yaml"), encoding: .utf8)
            #expect(p.text == shipped, "runtimes/\(p.name).yaml and ProfileTemplates.\(p.name) differ: change both together")
        }
    }

    @Test func everyShippedProfileHasATemplate() throws {
        let shipped = try FileManager.default.contentsOfDirectory(atPath: repo.appendingPathComponent("runtimes").path)
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
        #expect(ProfileTemplates.all.keys.sorted() == shipped)
        for name in shipped {
            let text = try String(contentsOf: repo.appendingPathComponent("runtimes/\(name).yaml"), encoding: .utf8)
            #expect(ProfileTemplates.all[name] == text, "\(name)")
        }
    }

    @Test func repositoryRuntimeYAMLIsTheSharedTemplate() throws {
        let shipped = try String(contentsOf: repo.appendingPathComponent("runtime.yaml"), encoding: .utf8)
        #expect(RuntimeLayout.repository.text == shipped, "runtime.yaml and RuntimeLayout differ: change both together")
    }

    @Test(arguments: ConfigPreset.allCases)
    func everyPresetValidatesOnItsOwn(_ preset: ConfigPreset) throws {
        let root = try TempRoot(profiles: [:])
        let changes = try preset.render().snapshot.write(to: root.paths)
        #expect(changes.written.count == preset.profiles.count + 1)
        let (config, diagnostics) = ConfigLoader.validate(paths: root.paths, environment: ["HOME": "/home/test"])
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics)")
        let c = try #require(config)
        #expect(c.profileNames == preset.profiles.sorted())
        let expectedDefault = ["strix-halo": "coding-local", "cpu": "demo-local", "hosted": "coding-burst"][preset.rawValue]
        #expect(c.runtime.front.defaultProfile == expectedDefault)
        #expect(c.runtime.front.host == "127.0.0.1")
    }

    @Test func strixHaloIsTheArticlesLocalTier() throws {
        let root = try TempRoot(profiles: [:])
        try ConfigPreset.strixHalo.render().snapshot.write(to: root.paths)
        let (config, _) = ConfigLoader.validate(paths: root.paths, environment: ["HOME": "/home/test"])
        let local = try #require(config?.profiles["coding-local"]?.llamaServer)
        #expect(local.gpuLayers == "all")
        #expect(local.flashAttn == "on")
        #expect(local.mlock == true)
        #expect(local.context == 8192)
        #expect(local.slots == 4)
        #expect(local.env?["HIP_VISIBLE_DEVICES"] == "0")
        #expect(local.burst == "coding-burst")
        #expect(config?.runtime.front.routes.first?.target == .profile("review-cheap"))
    }

    @Test func detectedModelAndBinaryReplaceOnlyTheirLines() throws {
        let options = PresetOptions(localModel: "~/models/big model.gguf", localBinary: "/usr/local/bin/llama-server")
        let text = try #require(ConfigPreset.strixHalo.render(options).profiles.first { $0.name == "coding-local" }?.text)
        #expect(text.contains("\nmodel: \"~/models/big model.gguf\"\n"))
        #expect(text.contains("\nbinary: /usr/local/bin/llama-server\n"))
        #expect(!text.contains("gemma-4-26b"))
        let original = ProfileTemplates.codingLocal.split(separator: "\n")
        let changed = text.split(separator: "\n")
        #expect(original.count == changed.count)
        #expect(zip(original, changed).filter { $0 != $1 }.count == 3, "model, binary and the comment naming the model")
        // The other presets ignore these options.
        #expect(ConfigPreset.cpu.render(options) == ConfigPreset.cpu.render())
    }

    @Test func yamlScalarQuotesOnlyWhatNeedsIt() {
        #expect(yamlScalar("/opt/x/bin/llama-server") == "/opt/x/bin/llama-server")
        #expect(yamlScalar("anthropic/claude-sonnet-4") == "anthropic/claude-sonnet-4")
        #expect(yamlScalar("https://openrouter.ai/api/v1") == "https://openrouter.ai/api/v1")
        #expect(yamlScalar("a b") == "\"a b\"")
        #expect(yamlScalar("on") == "\"on\"")
        #expect(yamlScalar("123") == "\"123\"")
        #expect(yamlScalar("x: y") == "\"x: y\"")
        #expect(yamlScalar("#x") == "\"#x\"")
    }

    @Test func modelDiscoveryFindsTheLargestAndSkipsProjectorsAndLaterShards() throws {
        let dir = try TestEnvironment.temporaryDirectory("models")
        let sub = dir.appendingPathComponent("org/repo")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        func file(_ path: URL, _ size: Int) throws { try Data(repeating: 0, count: size).write(to: path) }
        try file(dir.appendingPathComponent("small.gguf"), 10)
        try file(sub.appendingPathComponent("big.gguf"), 300)
        try file(dir.appendingPathComponent("mmproj-big.gguf"), 1000)
        try file(dir.appendingPathComponent("split-00001-of-00002.gguf"), 100)
        try file(dir.appendingPathComponent("split-00002-of-00002.gguf"), 900)
        try file(dir.appendingPathComponent("notes.txt"), 5000)
        let found = ModelDiscovery.find(in: [dir.path, "/nonexistent"])
        #expect(found.map { URL(fileURLWithPath: $0.path).lastPathComponent } == ["big.gguf", "split-00001-of-00002.gguf", "small.gguf"])
        #expect(found.first?.bytes == 300)
        #expect(ModelDiscovery.abbreviatingHome("/home/u/.models/a.gguf", home: "/home/u") == "~/.models/a.gguf")
        #expect(ModelDiscovery.abbreviatingHome("/opt/models/a.gguf", home: "/home/u") == "/opt/models/a.gguf")
    }
}
