import Foundation
import Testing

@testable import HermesCore

/// Admission, eviction, idle unload and the routing step for on-demand profiles, from plain snapshots.
@Suite struct AdmissionTests {
    static let GiB: UInt64 = 1 << 30
    let gtt = Admission.Pool(name: "GTT", totalBytes: 96 << 30, freeBytes: 90 << 30)

    func server(_ name: String, _ gib: UInt64, pool: String = "GTT", evictable: Bool = true, inFlight: Int = 0, lastUse: Double) -> Admission.Server {
        Admission.Server(name: name, pool: pool, heldBytes: gib * Self.GiB, evictable: evictable, inFlight: inFlight, lastUse: lastUse)
    }

    @Test func aModelThatFitsTheFreePoolIsAdmitted() {
        #expect(Admission.decide(profile: "a", neededBytes: 40 * Self.GiB, pool: gtt, servers: []) == .admit)
    }

    @Test func whatOurServersHoldIsNotCountedFreeEvenWhenTheDriverStillShowsIt() {
        // A 60 GiB server still loading: the driver says 90 GiB free, but only 36 GiB is unclaimed.
        let loading = server("big", 60, lastUse: 0)
        #expect(Admission.available(pool: gtt, servers: [loading]) == 36 * Self.GiB)
        #expect(Admission.decide(profile: "a", neededBytes: 40 * Self.GiB, pool: gtt, servers: [loading]) == .evict(["big"]))
    }

    @Test func theLiveFreeFigureDecidesWhenItIsLower() {
        // The desktop uses 80 GiB that no server of ours holds.
        let pool = Admission.Pool(name: "GTT", totalBytes: 96 << 30, freeBytes: 10 << 30)
        #expect(Admission.available(pool: pool, servers: [server("x", 4, lastUse: 0)]) == 10 * Self.GiB)
        #expect(Admission.decide(profile: "a", neededBytes: 12 * Self.GiB, pool: pool, servers: [server("x", 4, lastUse: 0)]) == .evict(["x"]))
    }

    @Test func idleServersAreEvictedLeastRecentlyUsedFirstUntilItFits() {
        let pool = Admission.Pool(name: "GTT", totalBytes: 64 << 30, freeBytes: 4 << 30)
        let servers = [server("recent", 20, lastUse: 300), server("oldest", 20, lastUse: 100), server("middle", 20, lastUse: 200)]
        // 4 free; + oldest 20 = 24; + middle 20 = 44 >= 30.
        #expect(Admission.decide(profile: "new", neededBytes: 30 * Self.GiB, pool: pool, servers: servers) == .evict(["oldest", "middle"]))
        // Equal last use: by name, so the choice is stable.
        let tied = [server("b", 20, lastUse: 5), server("a", 20, lastUse: 5)]
        #expect(Admission.decide(profile: "new", neededBytes: 10 * Self.GiB, pool: pool, servers: tied) == .evict(["a"]))
    }

    @Test func busyPinnedAndOtherPoolServersAreNeverEvicted() {
        let pool = Admission.Pool(name: "GTT", totalBytes: 64 << 30, freeBytes: 4 << 30)
        let servers = [
            server("streaming", 20, inFlight: 1, lastUse: 0),
            server("pinned", 20, evictable: false, lastUse: 0),
            server("cpu", 20, pool: "system memory", lastUse: 0),
            server("idle", 10, lastUse: 50),
        ]
        #expect(Admission.decide(profile: "new", neededBytes: 12 * Self.GiB, pool: pool, servers: servers) == .evict(["idle"]))
        guard case .refuse(let s) = Admission.decide(profile: "new", neededBytes: 30 * Self.GiB, pool: pool, servers: servers) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(s.neededBytes == 30 * Self.GiB)
        #expect(s.availableBytes == 4 * Self.GiB)
        #expect(s.reclaimableBytes == 10 * Self.GiB)
        #expect(s.kept == ["pinned", "streaming"])
        #expect(s.description == "new needs 30.0 GiB of GTT; 4.0 GiB is free and evicting idle servers would free 10.0 GiB more (kept: pinned, streaming)")
    }

    @Test func theProfileItselfIsNeitherCountedNorEvicted() {
        let pool = Admission.Pool(name: "GTT", totalBytes: 32 << 30, freeBytes: 32 << 30)
        #expect(Admission.decide(profile: "a", neededBytes: 30 * Self.GiB, pool: pool, servers: [server("a", 30, lastUse: 0)]) == .admit)
    }

    @Test func anUnknownTotalUsesTheFreeFigureAndHugeNumbersDoNotTrap() {
        let pool = Admission.Pool(name: "system memory", totalBytes: nil, freeBytes: 8 << 30)
        #expect(Admission.decide(profile: "a", neededBytes: 8 * Self.GiB, pool: pool, servers: []) == .admit)
        let huge = [Admission.Server(name: "x", pool: "GTT", heldBytes: .max, evictable: true, inFlight: 0, lastUse: 0),
                    Admission.Server(name: "y", pool: "GTT", heldBytes: .max, evictable: true, inFlight: 0, lastUse: 1)]
        #expect(Admission.available(pool: gtt, servers: huge) == 0)
        #expect(Admission.decide(profile: "a", neededBytes: .max, pool: gtt, servers: huge) == .evict(["x"]))
    }
}

@Suite struct IdleUnloadTests {
    @Test func serversPastTheirIdleTimeAreDueAndBusyOrNeverOnesAreNot() {
        let servers = [
            IdleUnload.Server(name: "old", idleUnload: 900, inFlight: 0, lastUse: 0),
            IdleUnload.Server(name: "fresh", idleUnload: 900, inFlight: 0, lastUse: 500),
            IdleUnload.Server(name: "busy", idleUnload: 900, inFlight: 2, lastUse: 0),
            IdleUnload.Server(name: "never", idleUnload: 0, inFlight: 0, lastUse: 0),
        ]
        #expect(IdleUnload.due(servers, now: 1000) == ["old"])
        #expect(IdleUnload.nextDeadline(servers, now: 1000) == 1400)
        #expect(IdleUnload.due(servers, now: 899) == [])
        #expect(IdleUnload.due(servers, now: 900) == ["old"])
        #expect(servers[2].unloadsAt == nil && servers[3].unloadsAt == nil)
        #expect(IdleUnload.nextDeadline([servers[3]], now: 0) == nil)
    }
}

@Suite struct OnDemandRoutingTests {
    static func onDemand(_ name: String, burst: String?, whileLoading: WhileLoading? = nil) -> Profile {
        var p = RoutingFixture.local(name, burst: burst)
        if case .llamaServer(var s) = p.kind {
            s.load = .onDemand
            s.whileLoading = whileLoading
            p.kind = .llamaServer(s)
        }
        return p
    }

    func policy(_ profiles: [Profile], default d: String) -> RoutingPolicy {
        var f = FrontSettings()
        f.defaultProfile = d
        return RoutingPolicy(profiles: Dictionary(uniqueKeysWithValues: profiles.map { ($0.name, $0) }), front: f)
    }

    let ready = LocalRuntimeStatus(phase: .ready, baseURL: "http://127.0.0.1:1", slotsTotal: 4, contextPerSlot: 2048)

    @Test func aStoppedOnDemandProfileAsksForALoadThenForwardsWhenReady() throws {
        let p = policy([Self.onDemand("a", burst: nil)], default: "a")
        let ctx = RouteContext()
        #expect(try p.decide(ctx).outcome == .needsLoad(profile: "a", wait: true))
        var snap = RuntimeSnapshot(statuses: ["a": LocalRuntimeStatus(phase: .starting)])
        #expect(try p.decide(ctx, snapshot: snap).outcome == .needsLoad(profile: "a", wait: true), "a load in progress is joined")
        snap.loads["a"] = .ready(ready)
        snap.statuses["a"] = ready
        let d = try p.decide(ctx, snapshot: snap)
        #expect(d.outcome == .forward(profile: "a"))
        #expect(d.reason == "default")
    }

    @Test func whileLoadingBurstGoesToTheBurstProfileWithReasonLoading() throws {
        let p = policy([Self.onDemand("a", burst: "cloud", whileLoading: .burst), RoutingFixture.remote("cloud")], default: "a")
        #expect(try p.decide(RouteContext()).outcome == .needsLoad(profile: "a", wait: false))
        let d = try p.decide(RouteContext(), snapshot: RuntimeSnapshot(loads: ["a": .loading]))
        #expect(d.outcome == .forward(profile: "cloud"))
        #expect(d.reason == "loading")
        #expect(d.hops.map(\.reason) == [.loading])
    }

    @Test func noMemoryBurstsOrAnswers503WithTheNumbers() throws {
        let withBurst = policy([Self.onDemand("a", burst: "cloud"), RoutingFixture.remote("cloud")], default: "a")
        let d = try withBurst.decide(RouteContext(), snapshot: RuntimeSnapshot(loads: ["a": .noMemory("a needs 30.0 GiB of GTT; 4.0 GiB is free")]))
        #expect(d.outcome == .forward(profile: "cloud"))
        #expect(d.reason == "no_memory")
        let alone = policy([Self.onDemand("a", burst: nil)], default: "a")
        let e = try alone.decide(RouteContext(), snapshot: RuntimeSnapshot(loads: ["a": .noMemory("a needs 30.0 GiB of GTT; 4.0 GiB is free")]))
        #expect(e.outcome == .unavailable(profile: "a", reason: .noMemory))
        #expect(e.detail?.contains("30.0 GiB") == true)
        #expect(e.explain().contains("no_memory"))
    }

    @Test func aFailedLoadIsLocalDownAndBurstWithoutABurstProfileWaits() throws {
        let p = policy([Self.onDemand("a", burst: "cloud"), RoutingFixture.remote("cloud")], default: "a")
        let d = try p.decide(RouteContext(), snapshot: RuntimeSnapshot(loads: ["a": .failed("port in use")]))
        #expect(d.reason == "local_down")
        #expect(d.target == "cloud")
        // while_loading: burst with nowhere to burst to waits instead.
        let q = policy([Self.onDemand("a", burst: nil, whileLoading: .burst)], default: "a")
        #expect(try q.decide(RouteContext()).outcome == .needsLoad(profile: "a", wait: true))
    }

    @Test func manualProfilesAndLoadedOnDemandOnesTakeTheUsualPath() throws {
        let p = policy([RoutingFixture.local("m", burst: nil), Self.onDemand("a", burst: nil)], default: "m")
        #expect(try p.decide(RouteContext()).outcome == .unavailable(profile: "m", reason: .localDown))
        let sick = RuntimeSnapshot(statuses: ["a": LocalRuntimeStatus(phase: .restarting, baseURL: "http://127.0.0.1:1")])
        #expect(try p.decide(RouteContext(explicitProfile: "a"), snapshot: sick).outcome == .unavailable(profile: "a", reason: .localDown))
    }
}
