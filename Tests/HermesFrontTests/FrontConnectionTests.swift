import Foundation
import HermesCore
import HermesFront
import HermesTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Connections are outside input too: a flood of idle and slowloris connections must not exhaust the
/// front's descriptors, and a normal client keeps getting answers through it.
@Suite(.serialized) struct FrontConnectionTests {
    /// Lets this test process hold a few thousand client sockets.
    static func raiseOwnLimit() {
        var r = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r)
        r.rlim_cur = r.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &r)
    }

    @Test func idleAndSlowlorisFloodUnderUlimit1024LeavesTheFrontAnswering() async throws {
        Self.raiseOwnLimit()
        let bench = try TestEnvironment.builtProduct("hermes-bench")
        try await withFaultUpstream { up in
            let port = try #require(LoopbackSocket.freePort())
            // The real front (buildFront) in a process of its own, with systemd's usual limit.
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", #"ulimit -n 1024 && exec "$0" front --serve "$1" --port "$2" --head-timeout 3"#, bench, up.url("ok"), String(port)]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            defer {
                if p.isRunning { p.terminate() }
                p.waitUntilExit()
            }
            let request = RawHTTP.post(body: Array(chatBody("hi").utf8))
            let ready = await RawHTTP.onThread {
                for _ in 0..<400 where p.isRunning {   // up to ~20 s for the process to listen
                    if RawHTTP.exchange(port: port, request, timeout: 2).status == 200 { return true }
                    usleep(50_000)
                }
                return false
            }
            try #require(ready, "hermes-bench front --serve did not answer on port \(port)")

            let result = await RawHTTP.onThread { () -> (idle: Int, slow: Int, answered: Int, evicted: Int) in
                var idle: [Int32] = []
                for _ in 0..<2000 {
                    let fd = RawHTTP.connect(port: port, timeout: 2)
                    if fd >= 0 { idle.append(fd) }
                }
                var slow: [Int32] = []
                for _ in 0..<200 {
                    let fd = RawHTTP.connect(port: port, timeout: 2)
                    guard fd >= 0 else { continue }
                    RawHTTP.write(fd, Array("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n".utf8))
                    slow.append(fd)
                }
                // The flood holds; a normal client asks 20 times, one slowloris header line between each.
                var answered = 0
                for i in 0..<20 {
                    for fd in slow { RawHTTP.write(fd, Array("X-Slow-\(i): 1\r\n".utf8)) }
                    // 30 s bounds a front that stopped answering; a debug build under the flood on a
                    // busy 2-core box has taken over 10 s for an answer.
                    if RawHTTP.exchange(port: port, request, timeout: 30).status == 200 { answered += 1 }
                }
                // Idle connections past the cap were closed by the front (at once or by eviction).
                var evicted = 0
                for fd in idle {
                    var tv = timeval(tv_sec: 0, tv_usec: 1000)
                    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                    if RawHTTP.closedByPeer(fd) { evicted += 1 }
                    close(fd)
                }
                for fd in slow { close(fd) }
                return (idle.count, slow.count, answered, evicted)
            }
            #expect(p.isRunning, "the front process died under the flood")
            #expect(result.idle + result.slow > 1500, "the flood did not connect: \(result)")
            #expect(result.answered == 20, "the normal client got \(result.answered) of 20 answers: \(result)")
            #expect(result.evicted > 1000, "the front held more idle connections than its cap: \(result)")
            let after = await RawHTTP.onThread { RawHTTP.exchange(port: port, request, timeout: 10).status }
            #expect(after == 200)
        }
    }

    @Test func slowlorisIsClosedAfterTheHeadTimeout() async throws {
        try await withFaultUpstream { up in
            let config = try FrontFixture.config([FrontFixture.local("local", burst: nil)], default: "local")
            let runtime = MutableRuntimeState(["local": LocalRuntimeStatus(phase: .ready, baseURL: up.url("ok"), slotsTotal: 2, contextPerSlot: 512)])
            try await withFront(config, runtime: runtime, options: FrontOptions(headTimeout: 0.5)) { f in
                let port = f.port
                let (closed, took) = await RawHTTP.onThread { () -> (Bool, Duration) in
                    let t0 = ContinuousClock.now
                    let fd = RawHTTP.connect(port: port, timeout: 5)
                    defer { close(fd) }
                    RawHTTP.write(fd, Array("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n".utf8))
                    return (RawHTTP.closedByPeer(fd), ContinuousClock.now - t0)
                }
                #expect(closed)
                #expect(took < .seconds(4))
            }
        }
    }

    @Test func malformedHTTPIsAnsweredAsOpenAIShapedJSON() async throws {
        try await withFaultUpstream { up in
            let config = try FrontFixture.config([FrontFixture.local("local", burst: nil)], default: "local")
            let runtime = MutableRuntimeState(["local": LocalRuntimeStatus(phase: .ready, baseURL: up.url("ok"), slotsTotal: 2, contextPerSlot: 512)])
            try await withFront(config, runtime: runtime) { f in
                let port = f.port
                let answers = await RawHTTP.onThread { () -> [(Int, String)] in
                    let many = (0..<5000).map { "X-H\($0): v\r\n" }.joined()
                    return [
                        RawHTTP.exchange(port: port, Array("GET / HTTP/9.9\r\nHost: x\r\n\r\n".utf8)),
                        RawHTTP.exchange(port: port, Array("GET /health HTTP/1.1\r\nHost: x\r\n\(many)\r\n".utf8)),
                        RawHTTP.exchange(port: port, Array("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n".utf8)),
                        RawHTTP.exchange(port: port, Array("GET /v1/models?q=\(String(repeating: "a", count: 1 << 20)) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)),
                    ].map { ($0.status, $0.body) }
                }
                for (i, (status, body)) in answers.enumerated() {
                    #expect((400..<500).contains(status), "case \(i): \(status)")
                    let json = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
                    #expect((json?["error"] as? [String: Any])?["code"] is String, "case \(i): \(body.prefix(200))")
                }
                #expect(answers[1].0 == 431)
            }
        }
    }
}
