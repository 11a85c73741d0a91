import Foundation
import HermesTestSupport
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import HermesFront

#if canImport(Glibc)
import Glibc
#endif

/// The front's own HTTP/1.1 client against hand-written upstreams on real sockets: what it must do
/// that the front's end-to-end tests cannot pin down (reuse, a stale connection, back-pressure, a
/// reader that walks away, an upstream that goes quiet).
@Suite struct UpstreamClientTests {
    @Test func parseReadsHostPortAndPathPrefix() {
        let a = UpstreamClient.parse("http://127.0.0.1:8080/v1/chat/completions")
        #expect(a?.target == UpstreamClient.Target(host: "127.0.0.1", port: 8080))
        #expect(a?.path == "/v1/chat/completions")
        #expect(UpstreamClient.parse("http://localhost/x")?.target.port == 80)
        #expect(UpstreamClient.parse("http://[::1]:9000/v1")?.target == UpstreamClient.Target(host: "::1", port: 9000))
        #expect(UpstreamClient.parse("http://127.0.0.1:8080")?.path == "")
        #expect(UpstreamClient.parse("https://api.example.com/v1") == nil)
        #expect(UpstreamClient.parse("http://127.0.0.1:0/v1") == nil)
        #expect(UpstreamClient.parse("http://user@host/v1") == nil)
    }

    @Test func sequentialRequestsShareOneKeptAliveConnection() async throws {
        let server = try ScriptedUpstream { fd, up in
            while up.readRequest(fd) != nil {
                ScriptedUpstream.write(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\nok")
            }
        }
        defer { server.stop() }
        // A generous idle age: under the whole suite the test's task can be late by seconds.
        let client = UpstreamClient(idleReadTimeout: .seconds(5), maxIdleAge: .seconds(120))
        for _ in 0..<3 {
            let r = try await client.send(server.target, path: "/v1/chat/completions", headers: [:], body: ByteBuffer(string: "{}"),
                                          connectTimeout: .seconds(1), firstByteTimeout: .seconds(5))
            #expect(r.status == 200)
            let body = try await r.body.collect(upTo: 1024)
            #expect(String(buffer: body) == "ok")
        }
        #expect(server.accepted == 1)
        #expect(server.requests.first?.hasPrefix("POST /v1/chat/completions HTTP/1.1\r\n") == true)
        #expect(server.requests.first?.lowercased().contains("host: 127.0.0.1:\(server.port)") == true)
        await client.shutdown()
    }

    @Test func aConnectionIdleLongerThanTheServerKeepsItIsNotReused() async throws {
        let server = try ScriptedUpstream { fd, up in
            while up.readRequest(fd) != nil {
                ScriptedUpstream.write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            }
        }
        defer { server.stop() }
        let client = UpstreamClient(idleReadTimeout: .seconds(5), maxIdleAge: .milliseconds(100))
        for pause in [0, 300] {
            try await Task.sleep(for: .milliseconds(pause))
            let r = try await client.send(server.target, path: "/", headers: [:], body: ByteBuffer(string: "{}"),
                                          connectTimeout: .seconds(1), firstByteTimeout: .seconds(5))
            #expect(String(buffer: try await r.body.collect(upTo: 64)) == "ok")
        }
        #expect(server.accepted == 2)
        await client.shutdown()
    }

    @Test func aConnectionTheServerClosedIsNotFatal() async throws {
        // Answers one request per connection, keep-alive implied, then closes: the second request finds
        // its pooled connection dead (or already dropped) and must still be answered on a fresh one.
        let server = try ScriptedUpstream { fd, up in
            if up.readRequest(fd) != nil {
                ScriptedUpstream.write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            }
        }
        defer { server.stop() }
        let client = UpstreamClient(idleReadTimeout: .seconds(5))
        for _ in 0..<3 {
            let r = try await client.send(server.target, path: "/", headers: [:], body: ByteBuffer(string: "{}"),
                                          connectTimeout: .seconds(1), firstByteTimeout: .seconds(5))
            #expect(String(buffer: try await r.body.collect(upTo: 64)) == "ok")
        }
        #expect(server.accepted == 3)
        await client.shutdown()
    }

    @Test func aReaderThatWalksAwayClosesTheUpstreamConnection() async throws {
        let closedAfter = Mutex<Duration?>(nil)
        let server = try ScriptedUpstream { fd, up in
            guard up.readRequest(fd) != nil else { return }
            ScriptedUpstream.write(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            ScriptedUpstream.write(fd, ScriptedUpstream.chunk("data: one\n\n"))
            let t0 = ContinuousClock.now
            // A generating server: keeps the stream open until the client goes.
            var byte: UInt8 = 0
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while poll(&pfd, 1, 5000) > 0, read(fd, &byte, 1) > 0 {}
            closedAfter.withLock { $0 = ContinuousClock.now - t0 }
        }
        defer { server.stop() }
        let client = UpstreamClient(idleReadTimeout: .seconds(30))
        do {
            let r = try await client.send(server.target, path: "/", headers: [:], body: ByteBuffer(string: "{}"),
                                          connectTimeout: .seconds(1), firstByteTimeout: .seconds(5))
            var it = r.body.makeAsyncIterator()
            let first = try await it.next()
            #expect(first.map { String(buffer: $0) } == "data: one\n\n")
        }  // the body goes out of scope unread
        let deadline = ContinuousClock.now + .seconds(3)
        while closedAfter.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let after = try #require(closedAfter.withLock { $0 }, "the upstream connection was left open after the reader went away")
        #expect(after < .seconds(3))
        await client.shutdown()
    }

    @Test func anUpstreamThatGoesQuietAfterTheHeadTimesOut() async throws {
        let lastWrite = Mutex<ContinuousClock.Instant?>(nil)
        let server = try ScriptedUpstream { fd, up in
            guard up.readRequest(fd) != nil else { return }
            ScriptedUpstream.write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            ScriptedUpstream.write(fd, ScriptedUpstream.chunk("data: one\n\n"))
            lastWrite.withLock { $0 = .now }
            var byte: UInt8 = 0
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while poll(&pfd, 1, 5000) > 0, read(fd, &byte, 1) > 0 {}
        }
        defer { server.stop() }
        let client = UpstreamClient(idleReadTimeout: .milliseconds(300))
        let r = try await client.send(server.target, path: "/", headers: [:], body: nil,
                                      connectTimeout: .seconds(1), firstByteTimeout: .seconds(5))
        var it = r.body.makeAsyncIterator()
        #expect(try await it.next() != nil)
        // The upstream would close at 5 s (a reset); the client's own 300 ms allowance must end it first.
        // Timed from the upstream's last byte, and no upper bound: under the full suite this task may
        // resume late, after the deadline already fired.
        do {
            _ = try await it.next()
            Issue.record("a silent upstream's body ended normally")
        } catch let e as UpstreamError {
            #expect(e.outcome == "timeout")
        }
        let quiet = try #require(lastWrite.withLock { $0 })
        #expect(ContinuousClock.now - quiet >= .milliseconds(250))
        await client.shutdown()
    }

    @Test func aRefusedConnectionIsReportedAsRefused() async throws {
        let port = try #require(LoopbackSocket.freePort())
        let client = UpstreamClient(idleReadTimeout: .seconds(5))
        do {
            _ = try await client.send(.init(host: "127.0.0.1", port: port), path: "/", headers: [:], body: nil,
                                      connectTimeout: .seconds(1), firstByteTimeout: .seconds(5))
            Issue.record("a request to a closed port was answered")
        } catch let e as UpstreamError {
            #expect(e.outcome == "refused")
        }
        await client.shutdown()
    }

    @Test func aLargeBodyReadSlowlyArrivesWholeAndInOrder() async throws {
        // 3 MiB in 64 KiB chunks, past the client's 1 MiB high-water mark: reads pause and resume.
        let chunkSize = 64 << 10, chunks = 48
        let server = try ScriptedUpstream { fd, up in
            guard up.readRequest(fd) != nil else { return }
            ScriptedUpstream.write(fd, "HTTP/1.1 200 OK\r\nContent-Length: \(chunkSize * chunks)\r\n\r\n")
            for i in 0..<chunks {
                let bytes = [UInt8](repeating: UInt8(i % 251), count: chunkSize)
                ScriptedUpstream.write(fd, bytes)
            }
        }
        defer { server.stop() }
        let client = UpstreamClient(idleReadTimeout: .seconds(10))
        let r = try await client.send(server.target, path: "/", headers: [:], body: nil,
                                      connectTimeout: .seconds(1), firstByteTimeout: .seconds(5))
        var total = 0
        var ordered = true
        var n = 0
        for try await chunk in r.body {
            for b in chunk.readableBytesView {
                if b != UInt8((total / chunkSize) % 251) { ordered = false }
                total += 1
            }
            n += 1
            // Fall behind once, long enough for more than the high-water mark to arrive.
            if n == 1 { try await Task.sleep(for: .milliseconds(300)) }
        }
        #expect(total == chunkSize * chunks)
        #expect(ordered)
        await client.shutdown()
    }
}

/// A loopback HTTP upstream written by hand on raw sockets: each accepted connection runs `script`
/// on its own thread, so a test can answer, stall, close or watch for the client going away.
final class ScriptedUpstream: @unchecked Sendable {
    let port: Int
    let fd: Int32
    let lock = NSLock()
    private var _accepted = 0
    private var _requests: [String] = []
    let script: @Sendable (Int32, ScriptedUpstream) -> Void

    var target: UpstreamClient.Target { .init(host: "127.0.0.1", port: port) }
    var accepted: Int { lock.withLock { _accepted } }
    var requests: [String] { lock.withLock { _requests } }

    init(_ script: @escaping @Sendable (Int32, ScriptedUpstream) -> Void) throws {
        guard let (fd, port) = LoopbackSocket.bound(backlog: 16) else { throw ScriptError.cannotListen }
        self.fd = fd
        self.port = port
        self.script = script
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    enum ScriptError: Error { case cannotListen }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { return }
            lock.withLock { _accepted += 1 }
            let thread = Thread { [self] in
                script(c, self)
                close(c)
            }
            thread.start()
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    /// Reads one request (head and a Content-Length body); nil at EOF. Records the head.
    func readRequest(_ fd: Int32) -> String? {
        var data = [UInt8]()
        var byte: UInt8 = 0
        while !(data.count >= 4 && data.suffix(4) == [13, 10, 13, 10]) {
            guard read(fd, &byte, 1) == 1 else { return nil }
            data.append(byte)
        }
        let head = String(decoding: data, as: UTF8.self)
        let length = head.lowercased().split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        var remaining = length
        var buffer = [UInt8](repeating: 0, count: 4096)
        while remaining > 0 {
            let n = read(fd, &buffer, min(remaining, buffer.count))
            guard n > 0 else { return nil }
            remaining -= n
        }
        lock.withLock { _requests.append(head) }
        return head
    }

    static func write(_ fd: Int32, _ text: String) { write(fd, Array(text.utf8)) }

    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            offset += n
        }
    }

    static func chunk(_ text: String) -> String { String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n" }
}
