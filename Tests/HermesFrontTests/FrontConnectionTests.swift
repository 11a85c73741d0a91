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
@Suite(.serialized, .realProcesses) struct FrontConnectionTests {
    struct Flood: Decodable, CustomStringConvertible {
        var idle: Int, slow: Int, answered: Int, evicted: Int
        var description: String { "(idle: \(idle), slow: \(slow), answered: \(answered), evicted: \(evicted))" }
    }

    /// 2000 idle connections and 200 slowloris ones (a header line between each of the normal client's
    /// 20 requests, each given 30 s and one retry: that bounds a front that stopped answering), then how
    /// many idle ones the front closed. In python, in a process of its own, with its descriptor limit raised.
    static let floodScript = #"""
    import json, resource, socket, sys
    port, body = int(sys.argv[1]), sys.argv[2].encode()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    def conn(t=2.0):
        s = socket.socket()
        s.settimeout(t)
        try:
            s.connect(("127.0.0.1", port))
            return s
        except OSError:
            s.close()
            return None
    req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    idle = [s for s in (conn() for _ in range(2000)) if s]
    slow = []
    for _ in range(200):
        s = conn()
        if s is None:
            continue
        try:
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        except OSError:
            s.close()
    def exchange():
        s = conn(30.0)
        if s is None:
            return 0
        try:
            s.sendall(req)
            data = b""
            while b"\r\n" not in data:
                c = s.recv(4096)
                if not c:
                    break
                data += c
            parts = data.split(b"\r\n")[0].split()
            return int(parts[1]) if len(parts) > 1 else 0
        except (OSError, ValueError):
            return 0
        finally:
            s.close()
    answered = 0
    for i in range(20):
        for s in slow:
            try:
                s.sendall(b"X-Slow-%d: 1\r\n" % i)
            except OSError:
                pass
        # A client whose connection the front reset while it evicted idle ones at its descriptor cap
        # tries once more, as any HTTP client library does.
        if exchange() == 200 or exchange() == 200:
            answered += 1
    evicted = 0
    for s in idle:
        s.settimeout(0.001)
        try:
            if s.recv(1) == b"":
                evicted += 1
        except socket.timeout:
            pass
        except OSError:
            evicted += 1
        s.close()
    for s in slow:
        s.close()
    print(json.dumps({"idle": len(idle), "slow": len(slow), "answered": answered, "evicted": evicted}))
    """#

    static func flood(port: Int, body: String) async throws -> Flood {
        let python = try #require(["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                  "python3 is missing: run scripts/setup-system.sh")
        let out: Data = await RawHTTP.onThread {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = ["-c", floodScript, String(port), body]
            let pipe = Pipe()
            p.standardOutput = pipe
            p.standardError = FileHandle.nullDevice
            guard (try? p.run()) != nil else { return Data() }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return data
        }
        return try JSONDecoder().decode(Flood.self, from: out)
    }

    @Test func idleAndSlowlorisFloodUnderUlimit1024LeavesTheFrontAnswering() async throws {
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

            // The flood comes from a child process: thousands of sockets in this test process would race
            // Foundation's Process.run in other tests (it copies the list of open descriptors while they
            // change; the suite once crashed there).
            let result = try await Self.flood(port: port, body: chatBody("hi"))
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
