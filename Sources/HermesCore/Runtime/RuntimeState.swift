import Foundation

/// What the front needs to know about a local profile's server, as the supervisor sees it.
///
/// The front and the supervisor do not import each other: the supervisor implements
/// `RuntimeStateProvider`, the daemon's builder hands it to the front, and front tests pass a plain value.
public struct LocalRuntimeStatus: Sendable, Equatable, Codable {
    public enum Phase: String, Sendable, Codable, CaseIterable {
        case stopped, starting, ready, unhealthy, restarting, failed
    }

    public var phase: Phase
    /// `http://HOST:PORT` of the running server.
    public var baseURL: String?
    /// Parallel slots the server reports (`/props` `total_slots`).
    public var slotsTotal: Int?
    /// Context each slot holds, read live (`/slots` `n_ctx`): with `-np 4 -c 8192` this is 2048.
    public var contextPerSlot: Int?
    /// Slots processing right now, from the last `/slots` sample (the front also counts its own in-flight).
    public var slotsBusy: Int?
    /// The server's process id: a new one means a new process, whose slots hold nothing.
    public var pid: Int32?

    public init(phase: Phase, baseURL: String? = nil, slotsTotal: Int? = nil, contextPerSlot: Int? = nil, slotsBusy: Int? = nil) {
        self.phase = phase
        self.baseURL = baseURL
        self.slotsTotal = slotsTotal
        self.contextPerSlot = contextPerSlot
        self.slotsBusy = slotsBusy
    }

    public var isReady: Bool { phase == .ready }
}

/// The supervisor's live view of local profiles, as the front consumes it.
public protocol RuntimeStateProvider: Sendable {
    /// The status of a local profile's server; nil when it was never started.
    func status(ofProfile name: String) async -> LocalRuntimeStatus?
    /// The front saw the local server fail a real request (5xx, refused, timeout before the first byte).
    /// `/health` can say 200 while every completion fails; these reports let the supervisor restart it.
    func reportFailure(profile: String, httpStatus: Int?, reason: String) async
    /// Loads an on-demand profile's model if it is not loaded (one load per profile, however many ask).
    /// `wait`: return when it is ready or failed, bounded by its startup timeout; otherwise return as
    /// soon as it is admitted (`.loading`) or refused (`.noMemory`).
    func ensureLoaded(profile: String, wait: Bool) async -> LoadAnswer
}

/// The runtime's answer to "load this on-demand profile".
public enum LoadAnswer: Sendable, Equatable {
    /// Loaded and ready: the status to decide with.
    case ready(LocalRuntimeStatus)
    /// Admitted and loading (answered when the caller did not wait, or the wait ran out).
    case loading
    /// Does not fit even after evicting idle servers; the numbers, for people.
    case noMemory(String)
    /// The load failed (or this runtime cannot load on demand); why.
    case failed(String)
}

extension RuntimeStateProvider {
    /// A runtime without on-demand loading.
    public func ensureLoaded(profile: String, wait: Bool) async -> LoadAnswer {
        .failed("this runtime does not load models on demand")
    }
}

/// A fixed map of statuses: for tests and for a front running without a supervisor.
public struct StaticRuntimeState: RuntimeStateProvider {
    public var statuses: [String: LocalRuntimeStatus]
    public init(_ statuses: [String: LocalRuntimeStatus]) { self.statuses = statuses }
    public func status(ofProfile name: String) async -> LocalRuntimeStatus? { statuses[name] }
    public func reportFailure(profile: String, httpStatus: Int?, reason: String) async {}
}
