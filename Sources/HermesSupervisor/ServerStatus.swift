import Foundation
import HermesCore

/// One profile's server as `status` shows it.
public struct ServerStatus: Sendable, Codable, Equatable {
    public var profile: String
    public var phase: LocalRuntimeStatus.Phase
    public var pid: Int32?
    /// True when this daemon took the server over from an earlier one (same pid, same model in memory).
    public var adopted: Bool?
    /// The keeper process that owns the server.
    public var keeperPid: Int32?
    public var host: String?
    public var port: Int?
    public var model: String?
    public var startedAt: Date?
    public var readyAt: Date?
    public var restarts: Int
    public var slotsTotal: Int?
    public var slotsBusy: Int?
    public var contextPerSlot: Int?
    /// A `warm_cache` profile's saved conversations on disk: how many, their tokens and bytes.
    public var warmSaved: Int?
    public var warmTokens: Int?
    public var warmBytes: Int?
    public var residentBytes: Int?
    /// Bytes of GPU memory this server's process uses, when the GPU probe can tell.
    public var gpuBytes: Int?
    /// Accepted / drafted tokens since the server started (llama-server's own counters), for a server
    /// launched with `speculative:`; filled by the daemon when asked, nil before anything was drafted.
    public var draftAcceptance: Double?
    public var lastError: String?
    public var hint: String?
    /// The server's last log lines, filled when a start failed.
    public var lastLogLines: [String]?
    public var logFile: String?
    public var command: String?
    /// `rpc-worker` for a ggml-rpc-server, which speaks no HTTP (nil: a llama-server).
    public var kind: String?
    /// The RPC worker whose loss last restarted this main, and when (SupervisorRegistry+rpc.swift).
    public var lostWorker: String?
    public var lostWorkerAt: Date?

    public init(profile: String, phase: LocalRuntimeStatus.Phase, restarts: Int = 0) {
        self.profile = profile
        self.phase = phase
        self.restarts = restarts
    }

    public var baseURL: String? {
        guard let host, let port, kind != "rpc-worker" else { return nil }
        return "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    public var runtimeStatus: LocalRuntimeStatus {
        var r = LocalRuntimeStatus(phase: phase, baseURL: baseURL, slotsTotal: slotsTotal, contextPerSlot: contextPerSlot, slotsBusy: slotsBusy)
        r.pid = pid
        return r
    }
}

/// A start that did not reach ready: the reason, the log's last lines and a hint.
public struct StartFailure: UserFacingError, CustomStringConvertible {
    public var profile: String
    public var reason: String
    public var lastLogLines: [String]
    public var hint: String?

    public init(profile: String, reason: String, lastLogLines: [String] = [], hint: String? = nil) {
        self.profile = profile
        self.reason = reason
        self.lastLogLines = lastLogLines
        self.hint = hint
    }

    public var code: String { "start_failed" }
    public var message: String { "\(profile): \(reason)" }
    public var cause: String? { Problem.logCause(lastLogLines) }
    public var description: String { rendered }
}
