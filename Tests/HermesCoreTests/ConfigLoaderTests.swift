import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// A config root in a temp dir, written from strings.
struct TempRoot {
    let url: URL
    init(runtime: String? = nil, profiles: [String: String]) throws {
        url = try TestEnvironment.temporaryDirectory("config")
        try FileManager.default.createDirectory(at: url.appendingPathComponent("runtimes"), withIntermediateDirectories: true)
        if let runtime { try runtime.write(to: url.appendingPathComponent("runtime.yaml"), atomically: true, encoding: .utf8) }
        for (name, text) in profiles {
            try text.write(to: url.appendingPathComponent("runtimes/\(name).yaml"), atomically: true, encoding: .utf8)
        }
    }
    var paths: RuntimePaths { RuntimePaths(configRoot: url, stateDirectory: url.appendingPathComponent("state")) }
    func validate(_ env: [String: String] = ["HOME": "/home/test"]) -> (HermesConfig?, [ConfigDiagnostic]) {
        ConfigLoader.validate(paths: paths, environment: env)
    }
}

let modelFile: String = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("hermes-test-model.gguf")
    _ = FileManager.default.createFile(atPath: url.path, contents: Data("GGUF".utf8))
    return url.path
}()

func localProfile(port: Int = 8090, extra: String = "") -> String {
    """
    kind: llama-server
    model: \(modelFile)
    port: \(port)
    \(extra)
    """
}

@Suite struct ConfigLoaderTests {
    @Test func shippedRuntimesValidate() throws {
        let paths = RuntimePaths(configRoot: TestEnvironment.repositoryRoot, stateDirectory: URL(fileURLWithPath: "/tmp/unused"))
        let (config, diagnostics) = ConfigLoader.validate(paths: paths, environment: ["HOME": "/home/test"])
        let errors = diagnostics.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors)")
        let c = try #require(config)
        #expect(Set(c.profileNames).isSuperset(of: ["coding-local", "coding-burst", "review-cheap", "demo-local", "demo-burst"]))
        let local = try #require(c.profiles["coding-local"]?.llamaServer)
        #expect(local.slots == 4)
        #expect(local.mlock == true)
        #expect(local.context == 8192)
        #expect(local.env?["HIP_VISIBLE_DEVICES"] == "0")
        #expect(local.burst == "coding-burst")
        // review-cheap inherits the provider from coding-burst and changes only the model.
        let cheap = try #require(c.profiles["review-cheap"]?.openai)
        #expect(cheap.baseURL == "https://openrouter.ai/api/v1")
        #expect(cheap.apiKeyEnv == "OPENROUTER_API_KEY")
        #expect(cheap.model == "deepseek/deepseek-v4-flash")
        // The demo model path is expanded from ${HERMES_RUNTIME_CACHE:-~/.cache/hermes-runtime}.
        #expect(c.profiles["demo-local"]?.llamaServer?.model == "/home/test/.cache/hermes-runtime/models/gemma-3-270m-q4_k_m.gguf")
        #expect(c.runtime.front.port == 8082)
        #expect(c.runtime.front.defaultProfile == "demo-local")
    }

    @Test func unknownKeyNamesFileLineColumnAndSuggests() throws {
        let root = try TempRoot(profiles: ["local": localProfile(extra: "mlok: true\nhealth:\n  intervall: 5s")])
        let (_, diagnostics) = root.validate()
        let mlok = try #require(diagnostics.first { $0.keyPath == "mlok" })
        #expect(mlok.severity == .error)
        #expect(mlok.file.hasSuffix("runtimes/local.yaml"))
        #expect(mlok.line == 4)
        #expect(mlok.column == 1)
        #expect(mlok.message.contains("did you mean 'mlock'"))
        #expect(mlok.description.contains("local.yaml:4:1: error: unknown key 'mlok'"))
        let nested = try #require(diagnostics.first { $0.keyPath == "health.intervall" })
        #expect(nested.line == 6)
        #expect(nested.column == 3)
        #expect(nested.message.contains("did you mean 'interval'"))
    }

    @Test func wrongTypesAndRangesAreEachReported() throws {
        let root = try TempRoot(profiles: [
            "a": "kind: llama-server\nmodel: \(modelFile)\nport: 70000\nslots: four\nmlock: maybe\nflash_attn: fast\n"
        ])
        let (_, diagnostics) = root.validate()
        let byKey = Dictionary(grouping: diagnostics, by: { $0.keyPath ?? "" })
        #expect(byKey["port"]?.first?.message.contains("out of range") == true)
        #expect(byKey["port"]?.first?.line == 3)
        #expect(byKey["slots"]?.first?.message.contains("whole number") == true)
        #expect(byKey["mlock"]?.first?.message.contains("true or false") == true)
        #expect(byKey["flash_attn"]?.first?.message.contains("on, off or auto") == true)
    }

    @Test func missingModelFileIsAWarningNamingThePath() throws {
        let root = try TempRoot(profiles: ["a": "kind: llama-server\nmodel: /nonexistent/m.gguf\nport: 8090\n"])
        let (config, diagnostics) = root.validate()
        #expect(config?.profiles["a"] != nil)
        let d = try #require(diagnostics.first { $0.keyPath == "model" })
        #expect(d.severity == .warning)
        #expect(d.message.contains("/nonexistent/m.gguf does not exist"))
        #expect(d.line == 2)
    }

    @Test func duplicatePortsAndFrontPortClash() throws {
        let root = try TempRoot(
            runtime: "front:\n  listen: 127.0.0.1:8082\n",
            profiles: ["a": localProfile(port: 9000), "b": localProfile(port: 9000), "c": localProfile(port: 8082)])
        let (_, diagnostics) = root.validate()
        #expect(diagnostics.contains { $0.file.hasSuffix("b.yaml") && $0.message == "port 9000 is also used by profile 'a'" })
        #expect(diagnostics.contains { $0.file.hasSuffix("c.yaml") && $0.message.contains("front's port") })
    }

    @Test func burstAndFallbackMustExistAndNotLoop() throws {
        let remote = { (fallback: String) in
            "kind: openai\nbase_url: https://example.com/v1\napi_key_env: K\nfallback: [\(fallback)]\n"
        }
        let root = try TempRoot(profiles: [
            "local": localProfile(extra: "burst: coding-brust"),
            "r1": remote("r2"), "r2": remote("r3"), "r3": remote("r1"),
        ])
        let (_, diagnostics) = root.validate()
        let burst = try #require(diagnostics.first { $0.keyPath == "burst" })
        #expect(burst.message.contains("'coding-brust', which does not exist"))
        let cycle = try #require(diagnostics.first { $0.message.contains("cycle") })
        #expect(cycle.message.contains("r1 -> r2 -> r3 -> r1"))
        #expect(diagnostics.filter { $0.message.contains("cycle") }.count == 1)
    }

    @Test func extendsInheritsUnsetFieldsAndEmptyMeansInherit() throws {
        let root = try TempRoot(profiles: [
            "base": localProfile(port: 9001, extra: "slots: 4\ncontext: 8192\nenv:\n  A: one\n  B: two\n"),
            "child": "extends: base\nport: 9002\ncontext: \"\"\nenv:\n  B: three\n",
        ])
        let (config, diagnostics) = root.validate()
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics)")
        let child = try #require(config?.profiles["child"]?.llamaServer)
        #expect(child.port == 9002)
        #expect(child.slots == 4)
        #expect(child.context == 8192)
        #expect(child.env == ["A": "one", "B": "three"])
    }

    @Test func environmentExpansion() throws {
        let root = try TempRoot(profiles: [
            "a": localProfile(extra: "alias: ${MODEL_ALIAS}\nhost: ${HOST_X:-127.0.0.2}"),
            "b": localProfile(port: 9003, extra: "alias: ${NOT_SET_ANYWHERE}"),
        ])
        let (config, diagnostics) = root.validate(["HOME": "/h", "MODEL_ALIAS": "gemma"])
        #expect(config?.profiles["a"]?.llamaServer?.alias == "gemma")
        #expect(config?.profiles["a"]?.llamaServer?.host == "127.0.0.2")
        let unset = try #require(diagnostics.first { $0.file.hasSuffix("b.yaml") && $0.keyPath == "alias" })
        #expect(unset.message.contains("NOT_SET_ANYWHERE is not set"))
    }

    @Test func apiKeyEnvRefusesAKeyWithoutEchoingIt() throws {
        let root = try TempRoot(profiles: ["r": "kind: openai\nbase_url: https://x.example/v1\napi_key_env: sk-or-v1-abcdef123\n"])
        let (_, diagnostics) = root.validate()
        let d = try #require(diagnostics.first { $0.keyPath == "api_key_env" })
        #expect(d.message.contains("NAME of an environment variable"))
        #expect(!d.description.contains("sk-or-v1"))
    }

    @Test func keysOfTheOtherKindAreExplained() throws {
        let root = try TempRoot(profiles: ["a": localProfile(extra: "base_url: http://x/v1")])
        let (_, diagnostics) = root.validate()
        #expect(diagnostics.contains { $0.keyPath == "base_url" && $0.message.contains("belongs to kind: openai") })
    }

    @Test func yamlSyntaxErrorIsLocated() throws {
        let root = try TempRoot(profiles: ["a": "kind: llama-server\nport: [8080\n"])
        let (_, diagnostics) = root.validate()
        let d = try #require(diagnostics.first)
        #expect(d.message.hasPrefix("YAML syntax"))
        #expect(d.line != nil)
    }

    @Test func routesAndLegacyShorthands() throws {
        let runtime = """
            front:
              default: a
              aliases: { fast: a }
              routes:
                - match: { platform: [discord], source_kind: stranger }
                  profile: r
                - match: { goal_matches: ["security review"] }
                  action: confirm
                  reason: needs a person
                - match: { prompt_matches: ["(unclosed"] }
                  profile: a
              platforms: { telegram: r }
              by_source: { cron: { profile: r } }
            """
        let root = try TempRoot(runtime: runtime, profiles: [
            "a": localProfile(), "r": "kind: openai\nbase_url: https://x.example/v1\n",
        ])
        let (config, diagnostics) = root.validate()
        #expect(diagnostics.contains { $0.keyPath == "front.routes[2].match.prompt_matches" && $0.message.contains("not a valid regular expression") })
        let routes = try #require(config?.runtime.front.routes)
        #expect(routes.count == 5)
        #expect(routes[0].match.platform == ["discord"])
        #expect(routes[0].match.sourceKind == ["stranger"])
        #expect(routes[1].target == .confirm(reason: "needs a person"))
        // Legacy shorthands come after the explicit routes.
        #expect(routes[3].match.platform == ["telegram"])
        #expect(routes[4].match.sourceKind == ["cron"])
        #expect(config?.profile(named: "fast")?.name == "a")
    }

    @Test func unknownRouteTargetIsAnError() throws {
        let root = try TempRoot(runtime: "front:\n  default: nope\n", profiles: ["a": localProfile()])
        let (_, diagnostics) = root.validate()
        #expect(diagnostics.contains { $0.keyPath == "front.default" && $0.severity == .error })
    }

    @Test func pathsFollowTheConfigRoot() {
        let defaultPaths = RuntimePaths.resolve(configOverride: nil, environment: ["HOME": "/home/u"])
        #expect(defaultPaths.configRoot.path == "/home/u/.config/hermes-runtime")
        #expect(defaultPaths.stateDirectory.path == "/home/u/.local/state/hermes-runtime")
        let other = RuntimePaths.resolve(configOverride: nil, environment: ["HOME": "/home/u", "HERMES_RUNTIME_HOME": "/srv/h"])
        #expect(other.stateDirectory.path == "/srv/h/state")
        let flag = RuntimePaths.resolve(configOverride: "~/x", environment: ["HOME": "/home/u", "HERMES_RUNTIME_HOME": "/srv/h"])
        #expect(flag.configRoot.path == "/home/u/x")
    }

    @Test func sizesAndDurations() {
        #expect(parseDuration("500ms") == 0.5)
        #expect(parseDuration("2m") == 120)
        #expect(parseDuration("5") == 5)
        #expect(parseByteSize("512MiB") == 512 << 20)
        #expect(parseByteSize("16 GiB") == 16 << 30)
        #expect(parseByteSize("lots") == nil)
    }
}
