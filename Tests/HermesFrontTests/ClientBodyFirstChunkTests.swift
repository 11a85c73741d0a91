import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

@testable import HermesFront

#if canImport(Glibc)
import Glibc
#endif

/// An AsyncHTTPClient body (the `https://` remotes' path) is committed like the own client's: the first
/// chunk is read before the status line goes out, and the rest follows from the same reader. The
/// upstream is a real socket server, reached over plain http by AsyncHTTPClient itself.
@Suite struct ClientBodyFirstChunkTests {
    static func get(_ server: ScriptedUpstream) async throws -> (HTTPClient, HTTPClientResponse) {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/v1/chat/completions")
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: "{}"))
        do {
            return (client, try await client.execute(request, timeout: .seconds(10)))
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test func theFirstChunkIsReadFirstAndTheRestFollowsFromTheSameReader() async throws {
        let server = try ScriptedUpstream { fd, up in
            _ = up.readRequest(fd)
            ScriptedUpstream.write(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            ScriptedUpstream.write(fd, ScriptedUpstream.chunk("data: 1\n\n"))
            ScriptedUpstream.write(fd, ScriptedUpstream.chunk("data: 2\n\n") + ScriptedUpstream.chunk("data: [DONE]\n\n") + "0\r\n\r\n")
        }
        defer { server.stop() }
        let (client, response) = try await Self.get(server)
        let body = UpstreamBody(response.body)
        guard case .chunk(let first) = try await body.firstChunk() else {
            Issue.record("the first chunk was not read")
            try await client.shutdown()
            return
        }
        #expect(String(buffer: first).hasPrefix("data: 1"))
        var rest = String(buffer: first)
        for try await chunk in body { rest += String(buffer: chunk) }
        #expect(rest == "data: 1\n\ndata: 2\n\ndata: [DONE]\n\n")
        try await client.shutdown()
    }

    @Test func anUpstreamThatDiesAfterItsHeadFailsBeforeTheFirstByte() async throws {
        let server = try ScriptedUpstream { fd, up in
            _ = up.readRequest(fd)
            ScriptedUpstream.write(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            // The script returns and the connection closes: no body byte ever comes.
        }
        defer { server.stop() }
        let (client, response) = try await Self.get(server)
        // Before the fix an AsyncHTTPClient body was `.notWaited` and its status line went out at once.
        await #expect(throws: (any Error).self) { _ = try await UpstreamBody(response.body).firstChunk() }
        try await client.shutdown()
    }
}
