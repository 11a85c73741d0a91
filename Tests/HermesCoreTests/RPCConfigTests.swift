import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// `kind: rpc-worker` profiles, a main's `rpc:` list, and the command lines both run.
@Suite struct RPCConfigTests {
    static let dialect = LlamaServerDialect.parse(help: (try? fixture("llama-server-b11434-help.txt")) ?? "", version: "b11434")

    func errors(_ d: [ConfigDiagnostic]) -> [String: ConfigDiagnostic] {
        Dictionary(d.filter { $0.severity == .error }.map { ("\($0.file.split(separator: "/").last ?? ""):\($0.keyPath ?? "")", $0) }) { a, _ in a }
    }

    @Test func aWorkerAndAMainThatNamesItLoadAndResolve() throws {
        let root = try TempRoot(profiles: [
            "w0": "kind: rpc-worker\nport: 50152\ndevice: CPU\nthreads: 2\n",
            "w1": "kind: rpc-worker\nextends: w0\nport: 50153\ntensor_cache: true\ntensor_cache_max: 2GiB\nload: always\n",
            "main": localProfile(port: 8201, extra: "rpc: [w0, w1, 10.0.0.2:50052]"),
        ])
        let (config, diagnostics) = root.validate()
        #expect(errors(diagnostics).isEmpty, "\(diagnostics)")
        let c = try #require(config)
        let w1 = try #require(c.profiles["w1"]?.rpcWorker)
        #expect(w1.device == "CPU" && w1.threads == 2, "inherited from w0")
        #expect(w1.effectiveTensorCacheMax == 2 << 30 && w1.effectiveLoad == .always)
        #expect(c.profiles["w1"]?.kindName == "rpc-worker")
        #expect(c.profiles["w1"]?.apis == [], "a worker answers no requests")
        let main = try #require(c.profiles["main"]?.llamaServer)
        #expect(main.rpcEndpoints == [
            RPCEndpoint(profile: "w0", host: "127.0.0.1", port: 50152),
            RPCEndpoint(profile: "w1", host: "127.0.0.1", port: 50153),
            RPCEndpoint(profile: nil, host: "10.0.0.2", port: 50052),
        ])
        #expect(c.mains(using: "w0").map(\.name) == ["main"])
        #expect(ConfigLimits.violations(in: c).isEmpty)
    }

    @Test func anAddressOffLoopbackNeedsATrustedNetwork() throws {
        let root = try TempRoot(profiles: [
            "open": "kind: rpc-worker\n# a LAN address\naddress: 192.168.1.20\n",
            "direct": "kind: rpc-worker\naddress: 10.77.0.1\nport: 50153\nnetwork: trusted\n",
        ])
        let (_, diagnostics) = root.validate()
        let e = errors(diagnostics)
        let open = try #require(e["open.yaml:address"])
        #expect(open.line == 3, "at the address line")
        #expect(open.message.contains("no authentication") && open.message.contains("no encryption") && open.message.contains("network: trusted"))
        #expect(e["direct.yaml:address"] == nil)
    }

    @Test func badWorkerValuesAreErrorsAtTheirKey() throws {
        let root = try TempRoot(profiles: [
            "w": "kind: rpc-worker\naddress: localhost\nport: 70000\nthreads: 0\nnetwork: open\nload: on-demand\ntensor_cache_max: 1KiB\nmodel: x.gguf\n",
        ])
        let (_, diagnostics) = root.validate()
        let e = errors(diagnostics)
        #expect(e["w.yaml:address"]?.message.contains("literal IPv4") == true, "\(diagnostics)")
        #expect(e["w.yaml:port"] != nil)
        #expect(e["w.yaml:threads"] != nil)
        #expect(e["w.yaml:network"]?.message.contains("loopback or trusted") == true)
        #expect(e["w.yaml:load"]?.message.contains("always or manual") == true)
        #expect(e["w.yaml:tensor_cache_max"]?.message.contains("too small") == true)
        #expect(e["w.yaml:model"]?.message.contains("unknown key") == true)
    }

    @Test func rpcEntriesMustNameWorkers() throws {
        let root = try TempRoot(profiles: [
            "w0": "kind: rpc-worker\nport: 50152\n",
            "other": localProfile(port: 8202),
            "main": localProfile(port: 8203, extra: "rpc:\n  - w9\n  - other\n  - example.com:50052\n  - w0\n  - 127.0.0.1:50152\nburst: w0"),
        ])
        let (_, diagnostics) = root.validate()
        let e = errors(diagnostics)
        #expect(e["main.yaml:rpc[0]"]?.message.contains("did you mean 'w0'") == true, "\(diagnostics)")
        #expect(e["main.yaml:rpc[0]"]?.line == 5)
        #expect(e["main.yaml:rpc[1]"]?.message.contains("a llama-server profile, not an rpc-worker") == true)
        #expect(e["main.yaml:rpc[2]"]?.message.contains("neither") == true)
        #expect(e["main.yaml:rpc[4]"]?.message.contains("named twice") == true)
        #expect(e["main.yaml:burst"]?.message.contains("answers no requests") == true)
    }

    @Test func workerPortsMustNotCollide() throws {
        let root = try TempRoot(profiles: [
            "w0": "kind: rpc-worker\nport: 8204\n",
            "main": localProfile(port: 8204),
        ])
        let (_, diagnostics) = root.validate()
        #expect(errors(diagnostics)["w0.yaml:port"]?.message.contains("profile 'main'") == true, "\(diagnostics)")
    }

    @Test(arguments: [
        ("127.0.0.1", true, true), ("10.0.0.2", true, false), ("255.255.255.255", true, false), ("127.1", false, false),
        ("01.2.3.4", false, false), ("1.2.3.256", false, false), ("1.2.3.-4", false, false), ("::1", false, false),
        ("", false, false), ("1..2.3", false, false), ("１.2.3.4", false, false),
    ])
    func ipv4Literals(text: String, valid: Bool, loopback: Bool) {
        #expect(IPv4Literal.isValid(text) == valid)
        #expect(IPv4Literal.isLoopback(text) == loopback)
    }

    @Test func theWorkerCommandLine() {
        var s = RPCWorkerSettings()
        s.port = 50160
        s.device = "CPU"
        s.threads = 1
        let cache = URL(fileURLWithPath: "/state/rpc-cache/w0")
        let plain = LlamaServerCommand.rpcWorker(profile: "w0", settings: s, executable: "/bin/ggml-rpc-server", cacheDirectory: cache)
        #expect(plain.arguments == ["-H", "127.0.0.1", "-p", "50160", "-t", "1", "-d", "CPU"])
        #expect(plain.environment["LLAMA_CACHE"] == nil)
        s.tensorCache = true
        s.env = ["GGML_VK_VISIBLE_DEVICES": "0"]
        let cached = LlamaServerCommand.rpcWorker(profile: "w0", settings: s, executable: "/bin/ggml-rpc-server", cacheDirectory: cache)
        #expect(cached.arguments.last == "-c")
        #expect(cached.environment == ["LLAMA_CACHE": "/state/rpc-cache/w0", "GGML_VK_VISIBLE_DEVICES": "0"])
        #expect(cached.host == "127.0.0.1" && cached.port == 50160)
    }

    @Test func theMainsCommandLineNamesItsWorkers() throws {
        var s = LlamaServerSettings()
        s.model = "/m.gguf"
        s.port = 8205
        s.rpcEndpoints = [RPCEndpoint(profile: "w0", host: "127.0.0.1", port: 50152), RPCEndpoint(profile: nil, host: "10.0.0.2", port: 50052)]
        let c = try LlamaServerCommand.build(profile: "main", settings: s, executable: "/bin/llama-server", dialect: Self.dialect)
        #expect(c.shellLine.contains("--rpc 127.0.0.1:50152,10.0.0.2:50052 -dev RPC0,RPC1 --cache-ram 0"), "\(c.shellLine)")
        s.args = ["-dev", "ROCm0,RPC0,RPC1", "--cache-ram", "0"]
        let own = try LlamaServerCommand.build(profile: "main", settings: s, executable: "/bin/llama-server", dialect: Self.dialect)
        #expect(own.arguments.filter { $0 == "-dev" }.count == 1 && own.arguments.filter { $0 == "--cache-ram" }.count == 1,
                "the profile's own devices and cache win: \(own.shellLine)")
        s.args = nil
        s.rpcEndpoints = []
        let none = try LlamaServerCommand.build(profile: "main", settings: s, executable: "/bin/llama-server", dialect: Self.dialect)
        #expect(!none.arguments.contains("--rpc") && !none.arguments.contains("--cache-ram"))
        s.rpcEndpoints = [RPCEndpoint(profile: nil, host: "10.0.0.2", port: 50052)]
        let old = LlamaServerDialect(flags: Self.dialect.flags.filter { $0.key != "--rpc" })
        #expect(throws: CommandBuildError.self) { try LlamaServerCommand.build(profile: "main", settings: s, executable: "/x", dialect: old) }
    }
}
