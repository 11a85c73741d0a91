import Testing

@testable import HermesCore

/// Pure parts of what the daemon shows: llama-server's own metrics text, the write-failure tally,
/// and doctor's check for a llama-server reachable beyond loopback without a key.
@Suite struct ObservabilityTests {
    @Test func llamaServerMetricsAreReadAndJunkIsSkipped() throws {
        let text = """
            # HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.
            # TYPE llamacpp:prompt_tokens_total counter
            llamacpp:prompt_tokens_total 1234
            llamacpp:tokens_predicted_total 56
            llamacpp:n_decode_total 7.0
            llamacpp:requests_processing 1
            llamacpp:requests_deferred 0
            llamacpp:unknown_thing 9
            llamacpp:kv_cache_usage_ratio{slot="0"} 0.5
            broken line without a value
            llamacpp:n_decode_total nan
            llamacpp:requests_deferred -4
            llamacpp:tokens_predicted_total 1e400
            """
        let m = try #require(LlamaServerMetrics.parse(text))
        #expect(m.promptTokens == 1234)
        #expect(m.generatedTokens == 56)
        #expect(m.decodeCalls == 7)
        #expect(m.requestsProcessing == 1)
        #expect(m.requestsDeferred == 0)
        #expect(LlamaServerMetrics.parse("") == LlamaServerMetrics())
        #expect(LlamaServerMetrics.parse(String(repeating: "x", count: LlamaServerMetrics.maxBytes + 1)) == nil)
    }

    @Test func writeFailuresAreToldOnceAndRecoveryOnce() {
        let t = WriteFailureTally()
        #expect(t.record(ok: true) == .none)
        #expect(t.record(ok: false) == .startedFailing)
        #expect(t.record(ok: false) == .none)
        #expect(t.record(ok: false) == .none)
        #expect(t.record(ok: true) == .recovered(lost: 3))
        #expect(t.record(ok: true) == .none)
        #expect(t.record(ok: false) == .startedFailing)
        #expect(t.dropped == 4)
    }

    func profile(host: String?, args: [String]? = nil, env: [String: String]? = nil) -> Profile {
        var s = LlamaServerSettings()
        s.host = host
        s.args = args
        s.env = env
        return Profile(name: "p", kind: .llamaServer(s), source: SourceLocation(file: "runtimes/p.yaml"))
    }

    @Test func anUnauthenticatedServerBeyondLoopbackIsAWarning() throws {
        #expect(ServerExposureCheck.check(profile(host: nil))?.status == .ok)
        #expect(ServerExposureCheck.check(profile(host: "127.0.0.1"))?.status == .ok)
        #expect(ServerExposureCheck.check(profile(host: "::1"))?.status == .ok)
        #expect(ServerExposureCheck.check(profile(host: "/run/llama.sock"))?.status == .ok)
        let open = try #require(ServerExposureCheck.check(profile(host: "0.0.0.0")))
        #expect(open.status == .warn)
        #expect(open.message.contains("0.0.0.0"))
        #expect(open.fix?.contains("runtimes/p.yaml") == true)
        #expect(ServerExposureCheck.check(profile(host: "127.0.0.1,192.168.1.5"))?.status == .warn)
        #expect(ServerExposureCheck.check(profile(host: "0.0.0.0", args: ["--api-key-file", "/k"]))?.status == .ok)
        #expect(ServerExposureCheck.check(profile(host: "0.0.0.0", args: ["--api-key=abc"]))?.status == .ok)
        let keyed = try #require(ServerExposureCheck.check(profile(host: "0.0.0.0", env: ["LLAMA_API_KEY": "secret-value"])))
        #expect(keyed.status == .ok)
        #expect(!keyed.message.contains("secret-value"))
        #expect(ServerExposureCheck.check(profile(host: "0.0.0.0", env: ["LLAMA_API_KEY": ""]))?.status == .warn)
        let remote = Profile(name: "r", kind: .openai(OpenAISettings()), source: SourceLocation(file: "r.yaml"))
        #expect(ServerExposureCheck.check(remote) == nil)
    }
}
