import Foundation
import HermesCore
import HermesFront
import HermesGPU
import HermesSupervisor

/// The daemon's side of the front's status page: servers, GPU pools and their last hour, log tails,
/// and the start/stop buttons, read from the supervisor registry and the GPU service.
final class StatusPageFeed: StatusPageSource {
    let registry: SupervisorRegistry
    /// Stop and unload go through the on-demand manager, as `stop` and `unload` do: the same drain,
    /// the same events.
    let manager: OnDemandManager
    let gpu: GPUService
    let paths: RuntimePaths
    let drainTimeout: Double
    let startedAt = Date()

    init(registry: SupervisorRegistry, manager: OnDemandManager, gpu: GPUService, paths: RuntimePaths, drainTimeout: Double) {
        self.registry = registry
        self.manager = manager
        self.gpu = gpu
        self.paths = paths
        self.drainTimeout = drainTimeout
    }

    func snapshot() async -> Data {
        let now = Date()
        var servers: [[String: Any]] = []
        let gpuBytes = await gpu.bytesByProfile()
        var statuses = await registry.statuses()
        await ServerMetrics.fillDraftAcceptance(&statuses)
        for var s in statuses {
            s.gpuBytes = gpuBytes[s.profile]
            servers.append(Self.server(s, now: now))
        }
        let daemon: [String: Any] = [
            "pid": Int(getpid()), "uptime_s": max(0, now.timeIntervalSince(startedAt)),
            "started_at": Self.iso8601(startedAt), "config_root": paths.configRoot.path,
        ]
        let object: [String: Any] = ["daemon": daemon, "servers": servers, "gpu": gpuObject()]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    /// A server as the control API encodes it, plus what the page shows ready-made: byte counts as
    /// text (the one formatter), uptime, load time, the model's file name. `load_state` stays null
    /// until models load on demand (loaded / idle).
    static func server(_ s: ServerStatus, now: Date) -> [String: Any] {
        var o = ((try? ControlCodec.encoder.encode(s)).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]) ?? [:]
        o.removeValue(forKey: "command")  // the page shows state, not command lines (an --api-key would be in one)
        if let b = s.residentBytes { o["resident_text"] = ByteCount.format(b) }
        if let b = s.gpuBytes { o["gpu_text"] = ByteCount.format(b) }
        if let a = s.draftAcceptance { o["draft_text"] = String(format: "%.0f%% drafts accepted", a * 100) }
        if let ready = s.readyAt, s.phase == .ready || s.phase == .unhealthy { o["uptime_s"] = max(0, now.timeIntervalSince(ready)) }
        if let started = s.startedAt, let ready = s.readyAt, ready >= started { o["load_seconds"] = ready.timeIntervalSince(started) }
        if let m = s.model { o["model_name"] = (m as NSString).lastPathComponent }
        if let n = s.warmSaved { o["warm_text"] = "\(n) saved, \(s.warmTokens ?? 0) tokens, \(ByteCount.format(s.warmBytes ?? 0))" }
        o["load_state"] = NSNull()
        return o
    }

    func gpuObject() -> [String: Any] {
        var o: [String: Any] = [:]
        guard let report = gpu.report else {
            o["reason"] = "no GPU sample yet"
            return o
        }
        o["source"] = report.source?.rawValue ?? NSNull()
        o["reason"] = report.reason ?? NSNull()
        o["devices"] = report.devices.map { d -> [String: Any] in
            var pools: [[String: Any]] = []
            for pool in [GPUMemoryPool.vram, .gtt] {
                guard let u = d.usage(of: pool) else { continue }
                pools.append(["pool": pool.rawValue, "name": pool == .vram && d.integrated ? "VRAM (carve-out)" : pool.displayName,
                              "used": u.usedBytes, "total": u.totalBytes, "used_text": ByteCount.format(u.usedBytes),
                              "total_text": ByteCount.format(u.totalBytes), "model": d.modelPool == pool])
            }
            var dev: [String: Any] = ["name": d.name, "integrated": d.integrated, "pools": pools,
                                      "model_pool_reason": d.modelPoolReason]
            if let b = d.busyPercent { dev["busy_percent"] = b }
            return dev
        }
        o["history"] = gpu.history.points().map { p -> [String: Any] in
            ["t": p.time.timeIntervalSince1970, "used": p.usedBytes, "total": p.totalBytes, "pool_name": p.pool.displayName,
             "used_text": ByteCount.format(p.usedBytes), "total_text": ByteCount.format(p.totalBytes)]
        }
        return o
    }

    func logTail(profile: String, lines: Int) async -> [String]? {
        let file = paths.serverLog(profile)
        guard let handle = FileHandle(forReadingAtPath: file.path) else { return nil }
        defer { try? handle.close() }
        // The tail only: a log may be megabytes; 64 KiB holds far more than 500 lines of llama-server.
        let size = (try? handle.seekToEnd()) ?? 0
        let window: UInt64 = 64 << 10
        try? handle.seek(toOffset: size > window ? size - window : 0)
        let data = (try? handle.read(upToCount: Int(window))) ?? Data()
        var all = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if size > window, !all.isEmpty { all.removeFirst() }  // a partial first line
        if all.last == "" { all.removeLast() }
        return Array(all.suffix(max(1, lines)))
    }

    func perform(_ action: StatusPageAction, profile: String) async -> (status: Int, message: String) {
        switch action {
        case .start:
            do {
                let s = try await registry.start(profile)
                return (200, "\(profile): \(s.phase.rawValue)")
            } catch {
                return (409, "\(error)")
            }
        case .stop:
            guard let s = await manager.stop(profile, drain: drainTimeout) else { return (404, "\(profile) is not running") }
            return (200, "\(profile): \(s.phase.rawValue)")
        case .unload:
            let (ok, message) = await manager.unloadByHand(profile, force: false)
            return (ok ? 200 : 409, message)
        }
    }

    static func iso8601(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: date)
    }
}
