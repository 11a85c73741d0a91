import AsyncHTTPClient
import HermesCore
import HermesSupervisor
import NIOCore

extension ServerMetrics {
    /// Sets `draftAcceptance` on each serving server launched with `--spec-type` (a `speculative:`
    /// section), read from its own `/metrics`: concurrently, each bounded by `timeout`, so `status` and
    /// the page never wait long on a busy server. Servers without speculative decoding are not asked.
    static func fillDraftAcceptance(_ servers: inout [ServerStatus], http: HTTPClient = .shared,
                                    timeout: TimeAmount = .milliseconds(500)) async {
        let asked = servers.indices.filter {
            (servers[$0].phase == .ready || servers[$0].phase == .unhealthy) && servers[$0].baseURL != nil
                && servers[$0].command?.contains("--spec-type") == true
        }
        guard !asked.isEmpty else { return }
        let read = await withTaskGroup(of: (Int, Double?).self) { group in
            for i in asked {
                let url = (servers[i].baseURL ?? "") + "/metrics"
                group.addTask { (i, await scrape(url, http: http, timeout: timeout)?.draftAcceptance) }
            }
            var out: [Int: Double] = [:]
            for await (i, a) in group { if let a { out[i] = a } }
            return out
        }
        for (i, a) in read { servers[i].draftAcceptance = a }
    }
}
