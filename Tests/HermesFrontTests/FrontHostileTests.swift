import Foundation
import HermesCore
import HermesFront
import HermesTestSupport
import Testing

/// Hostile requests against a live front: malformed, truncated, wrong types, huge and negative numbers,
/// deep nesting, invalid UTF-8, huge headers, smuggling shapes. The front stays up, answers each one,
/// never with a 5xx, and every refusal is OpenAI-shaped JSON.
///
/// `HERMES_HOSTILE_COUNT=10000 swift test --filter FrontHostileTests` runs the issue's full count.
@Suite(.serialized) struct FrontHostileTests {
    static var count: Int { Int(ProcessInfo.processInfo.environment["HERMES_HOSTILE_COUNT"] ?? "") ?? 1000 }

    /// One hostile request; `mustRefuse` when no reading of it is a valid request.
    struct Case {
        var bytes: [UInt8]
        var mustRefuse: Bool
        var label: String
    }

    static let valid = Array(#"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":8,"stream":false}"#.utf8)

    static func hostile(_ i: Int, _ g: inout SplitMix) -> Case {
        func post(_ body: [UInt8], _ headers: String = "") -> [UInt8] { RawHTTP.post(body: body, extraHeaders: headers) }
        func body(_ s: String) -> [UInt8] { Array(s.utf8) }
        let msg = #""messages":[{"role":"user","content":"hi"}]"#
        switch i % 16 {
        case 0:   // truncated
            return Case(bytes: post(Array(valid.prefix(Int.random(in: 0..<valid.count - 1, using: &g)))), mustRefuse: true, label: "truncated")
        case 1:   // random byte changes: may still be valid JSON, so only "no 5xx"
            var b = valid
            for _ in 0..<Int.random(in: 1...4, using: &g) { b[Int.random(in: 0..<b.count, using: &g)] = UInt8.random(in: 0...255, using: &g) }
            return Case(bytes: post(b), mustRefuse: false, label: "mutated")
        case 2:   // wrong types
            let field = ["model", "messages", "max_tokens", "stream", "stream_options", "metadata", "tools", "n_predict"].randomElement(using: &g)!
            let value = ["7", "\"x\"", "true", "[1]", "{}", "-0.5"].randomElement(using: &g)!
            let extra = field == "messages" ? "" : ",\(msg)"
            // Some pairs are valid ("max_tokens":7): only "no 5xx, JSON errors" holds for all.
            return Case(bytes: post(body("{\"\(field)\":\(value)\(extra)}")), mustRefuse: false, label: "type")
        case 3:   // huge and negative numbers
            let v = ["1e30", "-1e30", "1e309", "-2", "9223372036854775808", "2147483648", "0.5", "-0", "1E400"].randomElement(using: &g)!
            let field = ["max_tokens", "max_completion_tokens", "n_predict"].randomElement(using: &g)!
            return Case(bytes: post(body("{\(msg),\"\(field)\":\(v)}")), mustRefuse: v != "-0", label: "number")
        case 4:   // deep nesting
            let depth = [200, 5000, 100_000].randomElement(using: &g)!
            return Case(bytes: post(body("{\(msg),\"x\":" + String(repeating: "[", count: depth))), mustRefuse: true, label: "deep")
        case 5:   // invalid UTF-8 in a string
            return Case(bytes: post(body(#"{"messages":[{"role":"user","content":"a"#) + [0xFF, 0xC0, 0xED, 0xA0, 0x80] + body(#""}]}"#)),
                        mustRefuse: true, label: "utf8")
        case 6:   // invalid UTF-8 in the path
            return Case(bytes: body("POST /v1/chat/") + [0xFF, 0xFE] + body(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"),
                        mustRefuse: true, label: "path-utf8")
        case 7:   // too many headers
            let n = [1500, 5000].randomElement(using: &g)!
            let headers = (0..<n).map { "X-H\($0): v\r\n" }.joined()
            return Case(bytes: post(valid, headers), mustRefuse: true, label: "headers")
        case 8:   // one huge header
            return Case(bytes: post(valid, "X-Big: " + String(repeating: "a", count: 200_000) + "\r\n"), mustRefuse: true, label: "big-header")
        case 9:   // smuggling: Content-Length and Transfer-Encoding together
            let chunked = body("\(String(valid.count, radix: 16))\r\n") + valid + body("\r\n0\r\n\r\n")
            return Case(bytes: body("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n") + chunked,
                        mustRefuse: true, label: "cl+te")
        case 10:  // two different Content-Lengths
            return Case(bytes: body("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(valid.count)\r\nContent-Length: 3\r\n\r\n") + valid,
                        mustRefuse: true, label: "cl+cl")
        case 11:  // bad Content-Length
            let v = ["abc", "-1", "99999999999999999999", "1 2"].randomElement(using: &g)!
            return Case(bytes: body("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(v)\r\n\r\n{}"), mustRefuse: true, label: "bad-cl")
        case 12:  // bad request line / version
            let line = ["GET / HTTP/9.9", "GARBAGE", "POST  HTTP/1.1", "POST /v1/chat/completions HTTX/1.1", "\u{1}\u{2}\u{3}"].randomElement(using: &g)!
            return Case(bytes: body("\(line)\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), mustRefuse: true, label: "request-line")
        case 13:  // 1 MB query
            return Case(bytes: body("GET /v1/models?q=" + String(repeating: "a", count: 1 << 20) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
                        mustRefuse: true, label: "query")
        case 14:  // bad chunked body
            return Case(bytes: body("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
                        mustRefuse: true, label: "chunk")
        default:  // duplicate and escaped keys, top-level non-objects
            let b = [#"{"max_tokens":1,"max\u005ftokens":99999,"#+msg+"}", "[1,2,3]", "\"str\"", "null", "{}" , #"{"messages":[]}"#].randomElement(using: &g)!
            return Case(bytes: post(body(b)), mustRefuse: true, label: "shape")
        }
    }

    @Test func hostileRequestsAreRefusedAsOpenAIShaped4xxAndTheFrontStaysUp() async throws {
        try await withFaultUpstream { up in
            let config = try FrontFixture.config([FrontFixture.local("local", burst: nil, context: 8192, slots: 4)], default: "local")
            let runtime = MutableRuntimeState(["local": LocalRuntimeStatus(phase: .ready, baseURL: up.url("ok"), slotsTotal: 4, contextPerSlot: 8192)])
            try await withFront(config, runtime: runtime) { f in
                let n = Self.count
                let port = f.port
                let failures: [String] = await RawHTTP.onThread {
                    var g = SplitMix(state: 0xBAD)
                    var failures: [String] = []
                    for i in 0..<n {
                        let c = Self.hostile(i, &g)
                        let (status, body) = RawHTTP.exchange(port: port, c.bytes)
                        let json = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
                        let error = json?["error"] as? [String: Any]
                        if status == 0 || status >= 500 {
                            failures.append("#\(i) \(c.label): status \(status)")
                        } else if c.mustRefuse, !(400..<500).contains(status) || error?["code"] == nil || error?["message"] == nil {
                            failures.append("#\(i) \(c.label): \(status) \(body.prefix(120))")
                        } else if status >= 400, error?["code"] == nil {
                            failures.append("#\(i) \(c.label): \(status) not OpenAI-shaped: \(body.prefix(120))")
                        }
                    }
                    return failures
                }
                #expect(failures.isEmpty, "\(failures.count) of \(n) hostile requests misanswered: \(failures.prefix(12))")
                let ok = try await send(f.base + "/v1/chat/completions", json: chatBody("still there?"))
                #expect(ok.status == 200)
            }
        }
    }
}
