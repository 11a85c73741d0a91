import Foundation
import HermesCore
import HermesFront
import HermesTestSupport
import Testing

/// No web page can drive the front: Host and Origin are checked before anything is routed, CORS is
/// the front's own, and HTTP-level oddities (`CONNECT`, two `Host` headers) get JSON errors.
@Suite(.serialized) struct FrontAccessLiveTests {
    static func rawPost(_ path: String, host: String, origin: String?, contentType: String = "text/plain", body: String) -> [UInt8] {
        let o = origin.map { "Origin: \($0)\r\n" } ?? ""
        return Array("POST \(path) HTTP/1.1\r\nHost: \(host)\r\n\(o)Content-Type: \(contentType)\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
    }

    func withOKFront<T: Sendable>(allowedOrigins: [String] = [], _ body: @Sendable (LiveFront, FaultUpstream) async throws -> T) async throws -> T {
        try await withFaultUpstream { up in
            var config = try FrontFixture.config([FrontFixture.remote("cloud", baseURL: up.url("ok") + "/v1")], default: "cloud")
            config.runtime.front.allowedOrigins = allowedOrigins
            return try await withFront(config, runtime: MutableRuntimeState([:])) { f in try await body(f, up) }
        }
    }

    @Test func aCrossOriginSimplePostIsRefusedAndNoUpstreamSeesIt() async throws {
        try await withOKFront { f, up in
            let port = f.port
            let (status, body) = await RawHTTP.onThread {
                RawHTTP.exchange(port: port, Self.rawPost("/v1/chat/completions", host: "127.0.0.1:\(port)", origin: "http://evil.example",
                                                          body: chatBody("make the box work for me")))
            }
            #expect(status == 403)
            let error = (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["error"] as? [String: Any]
            #expect(error?["code"] as? String == "origin_not_allowed", "\(body)")
            #expect(error?["type"] as? String == "permission_error")
            // Anthropic's shape on /v1/messages.
            let (mStatus, mBody) = await RawHTTP.onThread {
                RawHTTP.exchange(port: port, Self.rawPost("/v1/messages", host: "localhost:\(port)", origin: "http://evil.example",
                                                          body: #"{"model":"m","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}"#))
            }
            let m = try JSONSerialization.jsonObject(with: Data(mBody.utf8)) as? [String: Any]
            #expect(mStatus == 403 && m?["type"] as? String == "error", "\(mBody)")
            #expect((m?["error"] as? [String: Any])?["type"] as? String == "permission_error")
            #expect(up.hitCount("ok") == 0, "no upstream saw a refused request")
            // Each refusal leaves its event.
            let events = try f.events()
            #expect(events.filter { $0["status"] as? Int == 403 }.count == 2, "\(events)")
        }
    }

    @Test func aRebindingHostIsRefusedAndLoopbackNamesAreServed() async throws {
        try await withOKFront { f, up in
            let port = f.port
            let body = chatBody("hi")
            let results = await RawHTTP.onThread {
                ["evil.example:\(port)", "127.0.0.1:\(port)", "localhost:\(port)", "[::1]:\(port)"].map { host in
                    RawHTTP.exchange(port: port, Self.rawPost("/v1/chat/completions", host: host, origin: nil, contentType: "application/json", body: body))
                }
            }
            #expect(results[0].status == 403 && results[0].body.contains("host_not_allowed"), "\(results[0])")
            #expect(results.dropFirst().allSatisfy { $0.status == 200 }, "\(results)")
            #expect(up.hitCount("ok") == 3)
            // The status page is refused too under a rebound name (it shows what the box does).
            let page = await RawHTTP.onThread {
                RawHTTP.exchange(port: port, Array("GET / HTTP/1.1\r\nHost: evil.example:\(port)\r\nConnection: close\r\n\r\n".utf8))
            }
            #expect(page.status == 403)
        }
    }

    @Test func sameOriginAndAllowedOriginsAreServedAndPreflightIsAnsweredOnlyForThem() async throws {
        try await withOKFront(allowedOrigins: ["http://localhost:3000"]) { f, up in
            let same = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"), headers: ["Origin": f.base])
            #expect(same.status == 200)
            #expect(same.header("access-control-allow-origin") == nil, "same origin needs no CORS")
            let other = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"), headers: ["Origin": "http://localhost:3000"])
            #expect(other.status == 200)
            #expect(other.header("access-control-allow-origin") == "http://localhost:3000")
            let pre = try await send(f.base + "/v1/chat/completions", method: .OPTIONS, headers: [
                "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            ])
            #expect(pre.status == 204)
            #expect(pre.header("access-control-allow-origin") == "http://localhost:3000")
            #expect(pre.header("access-control-allow-headers") == "authorization, content-type")
            let evil = try await send(f.base + "/v1/chat/completions", method: .OPTIONS, headers: [
                "Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
            ])
            #expect(evil.status == 403)
            #expect(evil.header("access-control-allow-origin") == nil)
            #expect(up.hitCount("ok") == 2)
        }
    }

    @Test func anUpstreamsCORSHeadersAreNotPassedOn() async throws {
        try await withFaultUpstream { up in
            let config = try FrontFixture.config([FrontFixture.remote("cloud", baseURL: up.url("cors") + "/v1")], default: "cloud")
            try await withFront(config, runtime: MutableRuntimeState([:])) { f in
                let a = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
                #expect(a.status == 200)
                #expect(up.hitCount("cors") == 1)
                #expect(a.headers.keys.allSatisfy { !$0.hasPrefix("access-control-") }, "\(a.headers)")
            }
        }
    }

    @Test func connectOtherMethodsAndTwoHostsGetJSONErrors() async throws {
        try await withOKFront { f, up in
            let port = f.port
            let answers = await RawHTTP.onThread {
                [
                    RawHTTP.exchange(port: port, Array("CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n".utf8)),
                    RawHTTP.exchange(port: port, Array("TRACE / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)),
                    RawHTTP.exchange(port: port, Array("PUT /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}".utf8)),
                    RawHTTP.exchange(port: port, Array("DELETE /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)),
                    RawHTTP.exchange(port: port, Self.rawPost("/v1/chat/completions", host: "127.0.0.1\r\nHost: evil.example", origin: nil,
                                                              contentType: "application/json", body: chatBody("hi"))),
                ]
            }
            for (i, a) in answers.enumerated() {
                let error = (try? JSONSerialization.jsonObject(with: Data(a.body.utf8)) as? [String: Any])?["error"] as? [String: Any]
                #expect((400..<500).contains(a.status) && error?["code"] != nil, "#\(i): \(a.status) \(a.body)")
            }
            #expect(answers[0].status == 404)
            #expect(answers[4].status == 400 && answers[4].body.contains("duplicate_host"))
            #expect(up.hitCount("ok") == 0)
            // The front is still up.
            let alive = try await send(f.base + "/v1/chat/completions", json: chatBody("hi"))
            #expect(alive.status == 200)
        }
    }
}
