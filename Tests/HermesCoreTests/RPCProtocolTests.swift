import Foundation
import Testing

@testable import HermesCore

/// HELLO and GET_DEVICE_MEMORY bytes, as `ggml-rpc.cpp` of b11434 writes and reads them.
@Suite struct RPCProtocolTests {
    static func hello(_ major: UInt8, _ minor: UInt8, _ patch: UInt8, sizeField: UInt64 = 28) -> [UInt8] {
        RPCProtocol.le64(sizeField) + [major, minor, patch, 0] + [UInt8](repeating: 0, count: 24)
    }

    @Test func theRequestsAreTheBytesTheWorkerExpects() {
        #expect(RPCProtocol.helloRequest == [14, 24, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 24))
        #expect(RPCProtocol.deviceMemoryRequest(device: 0x0102_0304) == [11, 4, 0, 0, 0, 0, 0, 0, 0, 4, 3, 2, 1])
    }

    @Test func aHelloReplyGivesTheVersion() throws {
        #expect(try RPCProtocol.parseHello(Self.hello(7, 0, 0)).get() == RPCVersion(major: 7, minor: 0, patch: 0))
        #expect(try RPCProtocol.parseHello(Self.hello(255, 255, 255)).get().description == "255.255.255")
    }

    @Test func aBadHelloReplyIsAnErrorNotATrap() {
        #expect(RPCProtocol.parseHello([]) == .failure(.length(0, expected: 36)))
        #expect(RPCProtocol.parseHello(Self.hello(7, 0, 0) + [0]) == .failure(.length(37, expected: 36)))
        #expect(RPCProtocol.parseHello(Self.hello(7, 0, 0, sizeField: .max)) == .failure(.sizeField(.max, expected: 28)))
    }

    @Test func deviceMemory() {
        let ok = RPCProtocol.le64(16) + RPCProtocol.le64(1 << 30) + RPCProtocol.le64(1 << 34)
        #expect(RPCProtocol.parseDeviceMemory(ok) == .success(RPCDeviceMemory(free: 1 << 30, total: 1 << 34)))
        let bad = RPCProtocol.le64(16) + RPCProtocol.le64(.max) + RPCProtocol.le64(1)
        #expect(RPCProtocol.parseDeviceMemory(bad) == .failure(.freeAboveTotal(free: .max, total: 1)))
        #expect(RPCProtocol.parseDeviceMemory(Array(ok.prefix(20))) == .failure(.length(20, expected: 24)))
    }

    @Test(arguments: [
        (RPCVersion(major: 7, minor: 0, patch: 0), true), (RPCVersion(major: 7, minor: 0, patch: 9), true),
        (RPCVersion(major: 7, minor: 1, patch: 0), false), (RPCVersion(major: 6, minor: 0, patch: 0), false),
        (RPCVersion(major: 8, minor: 0, patch: 0), false),
    ])
    func compatibility(worker: RPCVersion, ok: Bool) {
        #expect(worker.isCompatible(with: RPCProtocol.ours) == ok)
    }

    /// Random bytes of every length around the reply sizes: each is a value or an error.
    @Test func randomRepliesNeverTrap() {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for n in 0..<2000 {
            let len = n % 40
            let bytes: [UInt8] = (0..<len).map { _ in
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: seed >> 56)
            }
            if case .success(let v) = RPCProtocol.parseHello(bytes) { #expect(v.major <= 255) }
            if case .success(let m) = RPCProtocol.parseDeviceMemory(bytes) { #expect(m.free <= m.total) }
        }
    }
}

/// The tensor cache cap: oldest files go first until the rest fit.
@Suite struct TensorCacheTrimTests {
    typealias E = TensorCacheTrim.Entry

    @Test func theOldestGoUntilTheRestFit() {
        let entries = [E(path: "c", bytes: 30, modified: 3), E(path: "a", bytes: 50, modified: 1), E(path: "b", bytes: 40, modified: 2)]
        #expect(TensorCacheTrim.toRemove(entries, cap: 120) == [])
        #expect(TensorCacheTrim.toRemove(entries, cap: 100) == ["a"])
        #expect(TensorCacheTrim.toRemove(entries, cap: 30) == ["a", "b"])
        #expect(TensorCacheTrim.toRemove(entries, cap: 0) == ["a", "b", "c"])
    }

    @Test func sizesFromDiskNeverTrap() {
        let entries = [E(path: "a", bytes: .max, modified: 1), E(path: "b", bytes: .max, modified: 2), E(path: "c", bytes: -5, modified: 0)]
        #expect(TensorCacheTrim.toRemove(entries, cap: 10).contains("a"))
    }

    @Test func trimRemovesFilesOnDisk() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hermes-tcache-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("rpc"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (i, name) in ["old", "mid", "new"].enumerated() {
            let url = dir.appendingPathComponent("rpc/\(name)")
            try Data(count: 1000).write(to: url)
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: Double(1000 + i))], ofItemAtPath: url.path)
        }
        #expect(TensorCacheTrim.trim(dir, cap: 2000) == 1000)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("rpc").path).sorted() == ["mid", "new"])
        #expect(TensorCacheTrim.trim(dir.appendingPathComponent("absent"), cap: 0) == 0)
    }
}
