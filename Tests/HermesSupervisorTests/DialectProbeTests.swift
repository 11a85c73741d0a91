import Foundation
import HermesCore
import HermesTestSupport
import Testing

@testable import HermesSupervisor

/// Learning a binary's flags by running its `--help`, through the C spawn shim (the daemon runs this
/// too): the real llama-server, and scripts that fail, hang or talk a lot.
@Suite struct DialectProbeTests {
    func script(_ body: String) throws -> String {
        let dir = try TestEnvironment.temporaryDirectory("probe")
        let path = dir.appendingPathComponent("fake-llama-server").path
        try TestEnvironment.writeExecutable("#!/bin/sh\n" + body + "\n", to: path)
        return path
    }

    @Test func theRealServersFlagsAreLearnedAndCached() throws {
        let binary = try TestEnvironment.llamaServer()
        let cache = try TestEnvironment.temporaryDirectory("dialect-cache")
        let dialect = try DialectProbe(cacheDirectory: cache).dialect(of: binary)
        #expect(dialect.accepts("--port") && dialect.accepts("--ctx-size"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).count == 1, "cached")
        #expect(try DialectProbe(cacheDirectory: cache).dialect(of: binary) == dialect)
    }

    @Test func aHelpThatFailsSaysHowAndItsLastLines() throws {
        let path = try script("echo 'error: libggml-hip.so: cannot open shared object file' >&2; exit 3")
        #expect {
            try DialectProbe(cacheDirectory: nil).dialect(of: path)
        } throws: { error in
            let text = "\(error)"
            return text.contains("exited with code 3") && text.contains("libggml-hip.so")
        }
    }

    @Test func aBinaryThatCannotRunOrIsNotLlamaServerIsNamed() throws {
        #expect {
            try DialectProbe(cacheDirectory: nil).dialect(of: "/nonexistent/llama-server")
        } throws: { "\($0)".contains("it does not run") }
        let other = try script("echo 'usage: something else'")
        #expect {
            try DialectProbe(cacheDirectory: nil).dialect(of: other)
        } throws: { "\($0)".contains("no --port flag") }
    }

    @Test func aHangingHelpIsKilledAtTheTimeout() throws {
        let path = try script("exec sleep 300")
        var probe = DialectProbe(cacheDirectory: nil)
        probe.timeout = .milliseconds(300)
        #expect {
            try probe.dialect(of: path)
        } throws: { "\($0)".contains("did not finish in") }
    }

    @Test func aChattyHelpIsReadWhole() throws {
        // 300 KB before the flags: more than a pipe holds, read from the file the child wrote.
        let path = try script("head -c 300000 /dev/zero | tr '\\\\0' x; echo; printf '%s\\n' '--port PORT    port to listen'")
        let dialect = try DialectProbe(cacheDirectory: nil).dialect(of: path)
        #expect(dialect.accepts("--port"))
    }
}
