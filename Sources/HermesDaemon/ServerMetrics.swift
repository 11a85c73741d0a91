import AsyncHTTPClient
import Foundation
import HermesCore
import HermesSupervisor
import NIOCore
import Prometheus
import Synchronization

/// `hermes_server_*`: each local profile's server in the daemon's Prometheus registry, brought up to
/// date when `/metrics` is scraped (no timer: a scrape is the only reader, and it then sees the
/// supervisor's state and the servers' own counters as of that moment).
///
/// From the supervisor: `up`, `phase`, `restarts_total`, `slots_busy`, `slots_total`,
/// `context_per_slot`, `load_seconds` (launch to ready), `resident_bytes`. From llama-server's own
/// `/metrics` (the daemon passes `--metrics`): `prompt_tokens_total`, `generated_tokens_total`,
/// `decode_calls_total`, `requests_processing`, `requests_deferred`, and with `speculative:`
/// `draft_tokens_total`, `draft_accepted_total`, `draft_acceptance`. Counters survive a server
/// restart: a value that went down is a new process, and its whole value is added.
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let supervisors: SupervisorRegistry
    let http: HTTPClient
    /// Last values seen per `metric/profile`, to turn absolute counts into counter increments.
    private let last = Mutex<[String: Double]>([:])

    init(registry: PrometheusCollectorRegistry, supervisors: SupervisorRegistry, http: HTTPClient = .shared) {
        self.registry = registry
        self.supervisors = supervisors
        self.http = http
    }

    private func gauge(_ name: String, _ help: String, _ labels: [(String, String)]) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    private func counter(_ name: String, _ help: String, _ labels: [(String, String)]) -> Counter {
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    /// Reads every local profile's status and each running server's `/metrics` (concurrently, each
    /// bounded by `timeout`), then sets the families.
    func refresh(timeout: TimeAmount = .seconds(1)) async {
        let statuses = await supervisors.statuses()
        let own = await withTaskGroup(of: (String, LlamaServerMetrics?).self) { group in
            for s in statuses where s.phase == .ready || s.phase == .unhealthy {
                guard let base = s.baseURL else { continue }
                group.addTask { (s.profile, await self.scrape(base + "/metrics", timeout: timeout)) }
            }
            var out: [String: LlamaServerMetrics] = [:]
            for await (profile, m) in group { if let m { out[profile] = m } }
            return out
        }
        for s in statuses { publish(s, own[s.profile]) }
    }

    func publish(_ s: ServerStatus, _ own: LlamaServerMetrics?) {
        let p = [("profile", s.profile)]
        gauge("hermes_server_up", "1 when the server answers and serves requests (phase ready)", p).set(to: s.phase == .ready ? 1.0 : 0.0)
        for phase in LocalRuntimeStatus.Phase.allCases {
            gauge("hermes_server_phase", "1 for the phase the server is in", p + [("phase", phase.rawValue)])
                .set(to: s.phase == phase ? 1.0 : 0.0)
        }
        advance("hermes_server_restarts_total", "restarts after a crash or a hang", s.profile, to: Double(s.restarts))
        gauge("hermes_server_slots_total", "parallel slots the server reports", p).set(to: Double(s.slotsTotal ?? 0))
        gauge("hermes_server_slots_busy", "slots processing a request at the last probe", p).set(to: Double(s.slotsBusy ?? 0))
        gauge("hermes_server_context_per_slot", "tokens of context each slot holds", p).set(to: Double(s.contextPerSlot ?? 0))
        gauge("hermes_server_resident_bytes", "resident memory of the server process", p).set(to: Double(s.residentBytes ?? 0))
        var load = 0.0
        if let started = s.startedAt, let ready = s.readyAt { load = max(0, ready.timeIntervalSince(started)) }
        gauge("hermes_server_load_seconds", "seconds from launch to ready for the running server", p).set(to: load)
        guard let own else { return }
        if let v = own.promptTokens { advance("hermes_server_prompt_tokens_total", "prompt tokens processed (llama-server's count)", s.profile, to: v) }
        if let v = own.generatedTokens { advance("hermes_server_generated_tokens_total", "tokens generated (llama-server's count)", s.profile, to: v) }
        if let v = own.decodeCalls { advance("hermes_server_decode_calls_total", "llama_decode calls (llama-server's count)", s.profile, to: v) }
        if let v = own.requestsProcessing { gauge("hermes_server_requests_processing", "requests in a slot now (llama-server's count)", p).set(to: v) }
        if let v = own.requestsDeferred { gauge("hermes_server_requests_deferred", "requests waiting for a slot (llama-server's count)", p).set(to: v) }
        if let v = own.draftTokens { advance("hermes_server_draft_tokens_total", "tokens drafted by speculative decoding (llama-server's count)", s.profile, to: v) }
        if let v = own.draftAccepted { advance("hermes_server_draft_accepted_total", "drafted tokens the model accepted (llama-server's count)", s.profile, to: v) }
        if let v = own.draftAcceptance { gauge("hermes_server_draft_acceptance", "accepted / drafted tokens since the server started", p).set(to: v) }
    }

    /// Moves a counter to an absolute value read elsewhere; a value below the last one is a restarted
    /// source, whose whole value is new.
    func advance(_ name: String, _ help: String, _ profile: String, to value: Double) {
        guard value.isFinite, value >= 0 else { return }
        let key = name + "/" + profile
        let delta: Double = last.withLock { seen in
            let before = seen[key] ?? 0
            seen[key] = value
            return value >= before ? value - before : value
        }
        let c = counter(name, help, [("profile", profile)])
        if delta > 0 { c.increment(by: delta) } else { c.increment(by: Int64(0)) }
    }

    func scrape(_ url: String, timeout: TimeAmount) async -> LlamaServerMetrics? {
        await Self.scrape(url, http: http, timeout: timeout)
    }

    /// One server's own `/metrics`, bounded in time and size; nil when it does not answer.
    static func scrape(_ url: String, http: HTTPClient, timeout: TimeAmount) async -> LlamaServerMetrics? {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        guard let response = try? await http.execute(request, timeout: timeout),
            response.status == .ok,
            let body = try? await response.body.collect(upTo: LlamaServerMetrics.maxBytes)
        else { return nil }
        return LlamaServerMetrics.parse(String(decoding: body.readableBytesView, as: UTF8.self))
    }
}
