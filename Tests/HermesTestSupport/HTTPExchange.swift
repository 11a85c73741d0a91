import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What an HTTP exchange gave back: status 0 and the error in `body` when no answer came.
public struct HTTPReply: Sendable {
    public var status: Int
    /// Header names in lower case.
    public var headers: [String: String]
    public var body: String
    public init(status: Int, headers: [String: String], body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// One HTTP exchange for the tests that talk to the built daemon and real servers (the front tests use
/// AsyncHTTPClient). Every call waits on a thread of its own, never on one of Swift Testing's pool
/// threads (as many as cores), and is bounded by `TestEnvironment.hangBound` unless told otherwise:
/// how fast an answer comes is a benchmark's business, here it must come.
public enum HTTPExchange {
    public static func send(_ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:],
                            timeout: Double = TestEnvironment.hangBound) async -> HTTPReply
    {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: sendBlocking(method, url, body: body, headers: headers, timeout: timeout))
            }
        }
    }

    /// `send`, blocking the calling thread.
    public static func sendBlocking(_ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:],
                                    timeout: Double = TestEnvironment.hangBound) -> HTTPReply
    {
        guard let target = URL(string: url) else { return HTTPReply(status: 0, headers: [:], body: "not a URL: \(url)") }
        var request = URLRequest(url: target)
        request.httpMethod = method
        request.timeoutInterval = timeout
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var reply = HTTPReply(status: 0, headers: [:], body: "no answer")
        URLSession.shared.dataTask(with: request) { data, response, error in
            let r = response as? HTTPURLResponse
            var h: [String: String] = [:]
            for (k, v) in r?.allHeaderFields ?? [:] { h["\(k)".lowercased()] = "\(v)" }
            reply = HTTPReply(status: r?.statusCode ?? 0, headers: h,
                              body: String(decoding: data ?? Data(), as: UTF8.self) + (error.map { " \($0)" } ?? ""))
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + timeout + 5)
        return reply
    }
}
