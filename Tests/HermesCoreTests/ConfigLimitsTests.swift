import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// Values that used to validate and then crash `config validate` or the daemon, cross-file errors that
/// used to carry no line, and the front exposed off loopback without a key (issue #10).
@Suite struct ConfigLimitsTests {
    func validate(runtime: String? = nil, _ profiles: [String: String], env: [String: String] = ["HOME": "/h"])
        -> (HermesConfig, [ConfigDiagnostic])
    {
        let paths = RuntimePaths(configRoot: URL(fileURLWithPath: "/cfg"), stateDirectory: URL(fileURLWithPath: "/cfg/state"))
        return ConfigLoader.validate(runtimeText: runtime,
                                     profiles: profiles.sorted { $0.key < $1.key }.map { ($0.key, "/cfg/runtimes/\($0.key).yaml", $0.value) },
                                     paths: paths, environment: env)
    }

    func error(_ diagnostics: [ConfigDiagnostic], key: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> ConfigDiagnostic {
        try #require(diagnostics.first { $0.keyPath == key && $0.severity == .error }, "no error for \(key) in \(diagnostics)",
                     sourceLocation: sourceLocation)
    }

    @Test func hugeSizeIsAnErrorNotATrap() throws {
        let (_, diagnostics) = validate(runtime: "logs:\n  max_bytes: 99999999999999999999999GiB\n", [:])
        let d = try error(diagnostics, key: "logs.max_bytes")
        #expect(d.message.contains("too large: at most 1 TiB"))
        #expect((d.line, d.column) == (2, 14))
        let (_, body) = validate(runtime: "front:\n  max_body: 9223372036854775807GiB\n", [:])
        #expect(try error(body, key: "front.max_body").message.contains("too large"))
        let (_, small) = validate(runtime: "logs:\n  max_bytes: 100\n", [:])
        #expect(try error(small, key: "logs.max_bytes").message.contains("too small: at least 4 KiB"))
    }

    @Test(arguments: ["inf", "nan", "1e300", "-1", "86401", "2d", "-inf"])
    func unboundedDurationsAreRefused(value: String) throws {
        let remote = "kind: openai\nbase_url: https://x.example/v1\ntimeout: \(value)\ncooldown: \(value)\n"
        let local = "kind: llama-server\nmodel: /m.gguf\nport: 9001\nqueue_wait: \(value)\nhealth:\n  startup_timeout: \(value)\n  interval: \(value)\n  generation_timeout: \(value)\nrestart:\n  backoff: [1, \(value)]\n"
        let (_, diagnostics) = validate(["r": remote, "l": local])
        for key in ["timeout", "cooldown", "queue_wait", "health.startup_timeout", "health.interval", "health.generation_timeout",
                    "restart.backoff[1]"] {
            let d = try error(diagnostics, key: key)
            #expect(d.line != nil && d.column != nil)
        }
    }

    @Test func aDayIsTheLongestDurationAndAWeekTheLongestWindow() throws {
        let local = "kind: llama-server\nmodel: /m.gguf\nport: 9001\nqueue_wait: 1d\nhealth: {startup_timeout: 24h}\nrestart: {window: 168h}\n"
        let (_, bad) = validate(["l": local])
        #expect(try error(bad, key: "queue_wait").message.contains("expected a duration"))  // no `d` unit
        let ok = "kind: llama-server\nmodel: /m.gguf\nport: 9001\nqueue_wait: 86400\nhealth: {startup_timeout: 24h}\nrestart: {window: 168h}\n"
        let (config, diagnostics) = validate(["l": ok])
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics)")
        #expect(ConfigLimits.violations(in: config).isEmpty)
        #expect(config.profiles["l"]?.llamaServer?.restart?.window == 604_800)
    }

    @Test func aGenerationProbesTimeoutIsItsOwnWithADefault() throws {
        let (config, diagnostics) = validate(["a": "kind: llama-server\nmodel: /m.gguf\nport: 9001\nhealth: {generation_timeout: 90s}\n",
                                              "b": "kind: llama-server\nmodel: /m.gguf\nport: 9002\n"])
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics)")
        #expect(config.profiles["a"]?.llamaServer?.effectiveHealth.generationTimeout == 90)
        #expect(config.profiles["b"]?.llamaServer?.effectiveHealth.generationTimeout == 30)
    }

    @Test func crossFileErrorsPointAtTheKeyThatNamesTheMissingProfile() throws {
        let runtime = "front:\n  default: nope\n  aliases:\n    fast: gone\n  routes:\n    - match: {platform: x}\n      profile: missing\n  platforms: {discord: absent}\n"
        let local = "kind: llama-server\nmodel: /m.gguf\nport: 9001\nburst: cloud\n"
        let remote = "kind: openai\nbase_url: https://x.example/v1\nfallback:\n  - l\n  - nowhere\n"
        let (_, diagnostics) = validate(runtime: runtime, ["l": local, "r": remote])
        let burst = try error(diagnostics, key: "burst")
        #expect(burst.description.hasPrefix("/cfg/runtimes/l.yaml:4:1: error: burst names profile 'cloud', which does not exist"))
        let fallback = try error(diagnostics, key: "fallback[1]")
        #expect((fallback.file, fallback.line, fallback.column) == ("/cfg/runtimes/r.yaml", 5, 5))
        #expect(try error(diagnostics, key: "front.default").line == 2)
        #expect(try error(diagnostics, key: "front.aliases.fast").line == 4)
        #expect(try error(diagnostics, key: "front.routes[0].profile").line == 7)
        #expect(try error(diagnostics, key: "front.platforms.discord").line == 8)
        for d in diagnostics { #expect(d.line != nil && d.column != nil, "\(d)") }
    }

    @Test func portClashesAndCyclesAreLocated() throws {
        let a = "kind: llama-server\nmodel: /m.gguf\n\nport: 9001\n"
        let r1 = "kind: openai\nbase_url: https://x.example/v1\nfallback: [r2]\n"
        let r2 = "kind: openai\nbase_url: https://x.example/v1\nfallback: [r1]\n"
        let (_, diagnostics) = validate(["a": a, "b": a, "r1": r1, "r2": r2])
        let port = try #require(diagnostics.first { $0.message.contains("also used") })
        #expect((port.line, port.column) == (4, 1))
        let cycle = try #require(diagnostics.first { $0.message.contains("cycle") })
        #expect(cycle.line == 3 && cycle.keyPath == "fallback[0]")
    }

    @Test func frontOffLoopbackNeedsAKey() throws {
        let (_, open) = validate(runtime: "front:\n  listen: 0.0.0.0:8082\n", [:])
        let d = try error(open, key: "front.listen")
        #expect((d.line, d.column) == (2, 3))
        #expect(d.message.contains("off loopback, without a key"))
        let (_, keyed) = validate(runtime: "front:\n  listen: 0.0.0.0:8082\n  api_key_env: FRONT_KEY\n", [:], env: ["FRONT_KEY": "s3cret"])
        #expect(keyed.isEmpty, "\(keyed)")
        let (_, unset) = validate(runtime: "front:\n  listen: 192.168.1.5:8082\n  api_key_env: FRONT_KEY\n", [:])
        #expect(unset.contains { $0.severity == .warning && $0.keyPath == "front.api_key_env" && $0.line == 3 })
        #expect(!unset.contains { $0.severity == .error })
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "\"[::1]"] {
            let (_, loopback) = validate(runtime: "front:\n  listen: \(host):8082\(host.hasPrefix("\"") ? "\"" : "")\n", [:])
            #expect(loopback.isEmpty, "\(host): \(loopback)")
        }
    }

    @Test func wholeFileProblemsPointAtTheFirstLine() throws {
        let (_, diagnostics) = validate(["a": "", "b": "- a list\n", "c": "kind: llama-server\n"])
        #expect(!diagnostics.isEmpty)
        for d in diagnostics { #expect(d.line != nil && d.column != nil, "\(d)") }
    }

    @Test func controlCharactersAreLocatedToo() throws {
        let (_, diagnostics) = validate(["a": "kind: llama-server\nport: 9001\nmodel: \u{7}x\n"])
        let d = try #require(diagnostics.first)
        #expect(d.message.hasPrefix("YAML"))
        #expect(d.line == 3, "\(d)")
    }

    @Test func sizesParseExactlyAndRefuseOverflow() {
        #expect(parseByteSize("1.5G") == 1_610_612_736)
        #expect(parseByteSize("8EiB") == nil)
        #expect(parseByteSize("9223372036854775807") == .max)
        #expect(parseByteSize("9223372036854775808") == nil)
        #expect(parseByteSize("8589934592GiB") == nil)
        #expect(parseByteSize("1e30b") == nil)
        #expect(parseByteSize("-5MiB") == nil)
        #expect(parseByteSize("inf") == nil)
        #expect(parseByteSize("10MiB", max: 1 << 20) == nil)
        #expect(ByteSize(parsing: "99999999999999999999999GiB") == .tooLarge)
        #expect(ByteSize(parsing: "nanGiB") == .invalid)
    }

    @Test func hugeCountsSayTooLarge() throws {
        let (_, diagnostics) = validate(["a": "kind: llama-server\nmodel: /m.gguf\nport: 99999999999999999999\n"])
        #expect(try error(diagnostics, key: "port").message.contains("too large"))
    }
}

@Suite struct ConfigNestingTests {
    /// libyaml stops at 1000 levels; Yams composes nodes recursively, so the deepest accepted nesting
    /// must still fit a worker thread's stack (the daemon validates on `reload`).
    @Test(arguments: [999, 1001, 100_000])
    func deepNestingIsAnErrorNotAStackOverflow(depth: Int) {
        let text = "front: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
        let (_, diagnostics) = ConfigBundle(text: text).validate(environment: [:])
        #expect(diagnostics.contains { $0.severity == .error })
        for d in diagnostics { #expect(d.line != nil && d.column != nil) }
    }
}
