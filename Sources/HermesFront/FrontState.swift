import Foundation
import HermesCore
import Synchronization

/// The config in force: swapped whole by `reload`, read once per request.
struct LoadedConfig: Sendable {
    let config: HermesConfig
    let policy: RoutingPolicy
    /// The bearer key clients must send, as bytes for the constant-time compare; nil = no auth.
    let frontKey: [UInt8]?
    /// Remote profiles' keys by profile name, read from their `api_key_env`.
    let remoteKeys: [String: String]
    let localProfiles: [String]

    /// Builds the state for `config`, or throws when the front must refuse it.
    init(config: HermesConfig, host: String, environment: [String: String]) throws {
        self.config = config
        self.policy = RoutingPolicy(config: config)
        let front = config.runtime.front
        if let name = front.apiKeyEnv {
            guard let key = environment[name], !key.isEmpty else {
                throw FrontError(code: .keyMissing,
                                 message: "front.api_key_env names \(name), which is not set in the daemon's environment")
            }
            frontKey = Array(key.utf8)
        } else {
            frontKey = nil
            guard Self.isLoopback(host) else {
                throw FrontError(code: .openNonLoopback,
                                 message: "the front would listen on \(host) without a key: set front.api_key_env, or listen on 127.0.0.1")
            }
        }
        var keys: [String: String] = [:]
        for p in config.profiles.values {
            if let env = p.openai?.apiKeyEnv, let v = environment[env], !v.isEmpty { keys[p.name] = v }
        }
        remoteKeys = keys
        localProfiles = config.profiles.values.filter(\.isLocal).map(\.name).sorted()
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Compares in time that depends only on the lengths, never on where the first difference is.
    func authorized(_ header: String?) -> Bool {
        guard let key = frontKey else { return true }
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        let given = Array(header.utf8.dropFirst(7))
        var diff = UInt8(given.count == key.count ? 0 : 1)
        for i in 0..<max(given.count, key.count) {
            let a = i < given.count ? given[i] : 0
            let b = i < key.count ? key[i] : 0
            diff |= a ^ b
        }
        return diff == 0
    }
}

/// The front's own requests in flight per profile, and the slot gate for local ones.
final class InFlight: Sendable {
    let counts = Mutex<[String: Int]>([:])

    func count(_ profile: String) -> Int { counts.withLock { $0[profile] ?? 0 } }

    func snapshot() -> [String: Int] { counts.withLock { $0 } }

    /// Takes a slot when fewer than `limit` are in flight.
    func tryAcquire(_ profile: String, limit: Int) -> Bool {
        counts.withLock { c in
            let n = c[profile] ?? 0
            guard n < limit else { return false }
            c[profile] = n + 1
            return true
        }
    }

    /// Counts a request without a limit (remotes, and local retries the server itself queues).
    func add(_ profile: String) -> Int {
        counts.withLock { c in
            let n = (c[profile] ?? 0) + 1
            c[profile] = n
            return n
        }
    }

    /// When each profile's last request ended: the on-demand manager's idle clock.
    let lastRelease = Mutex<[String: ContinuousClock.Instant]>([:])

    @discardableResult
    func release(_ profile: String) -> Int {
        let now = ContinuousClock.now
        lastRelease.withLock { $0[profile] = now }
        return counts.withLock { c in
            let n = max(0, (c[profile] ?? 0) - 1)
            c[profile] = n
            return n
        }
    }

    /// In-flight counts and last use, per profile the front has used.
    func usage() -> [String: ProfileUsage] {
        let counts = snapshot()
        let last = lastRelease.withLock { $0 }
        var out: [String: ProfileUsage] = [:]
        for name in Set(counts.keys).union(last.keys) { out[name] = ProfileUsage(inFlight: counts[name] ?? 0, lastUse: last[name]) }
        return out
    }

    /// Waits up to `seconds` for a slot; gives up early when `abandon` says so (checked every 50 ms:
    /// the server stopped serving). Polls every 2 ms: simpler than a waiter queue, and a wait only
    /// happens when every slot is busy, where 2 ms is nothing next to a generation.
    func acquire(_ profile: String, limit: Int, within seconds: Double,
                 abandon: @Sendable () async -> Bool = { false }) async -> Bool
    {
        let deadline = ContinuousClock.now.advanced(by: .safeSeconds(seconds))
        var nextCheck = ContinuousClock.now.advanced(by: .milliseconds(50))
        while true {
            if tryAcquire(profile, limit: limit) { return true }
            let now = ContinuousClock.now
            if now >= deadline || Task.isCancelled { return false }
            if now >= nextCheck {
                if await abandon() { return false }
                nextCheck = now.advanced(by: .milliseconds(50))
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }
}

/// Remote profiles that are skipped until a time (after 429 with Retry-After, or a failure).
final class Cooldowns: Sendable {
    struct Entry {
        var until: ContinuousClock.Instant
        /// A 429 put it there: a request that finds only such profiles is answered 429, not 502.
        var rateLimited: Bool
    }

    let entries = Mutex<[String: Entry]>([:])
    /// Failures in a row per remote (`Cooldowns+streaks.swift`), on a clock that starts here.
    let streaks = Mutex(FailureStreaks())
    let epoch = ContinuousClock.now

    /// The cooldown in force for `profile`: seconds left and whether a 429 set it; nil when none.
    func cooling(_ profile: String, now: ContinuousClock.Instant = .now) -> (seconds: Double, rateLimited: Bool)? {
        entries.withLock { u in
            guard let e = u[profile] else { return nil }
            if e.until <= now { u[profile] = nil; return nil }
            return ((e.until - now).seconds, e.rateLimited)
        }
    }

    func isCooling(_ profile: String, now: ContinuousClock.Instant = .now) -> Bool { cooling(profile, now: now) != nil }

    func set(_ profile: String, seconds: Double, rateLimited: Bool = false) {
        let t = ContinuousClock.now.advanced(by: .safeSeconds(seconds))
        entries.withLock { u in
            let old = u[profile]
            u[profile] = Entry(until: max(old?.until ?? t, t), rateLimited: rateLimited || (old.map { $0.until > t && $0.rateLimited } ?? false))
        }
    }

    /// Profiles cooling down now (for the gauge).
    func active(now: ContinuousClock.Instant = .now) -> Int {
        entries.withLock { u in
            u = u.filter { $0.value.until > now }
            return u.count
        }
    }
}
