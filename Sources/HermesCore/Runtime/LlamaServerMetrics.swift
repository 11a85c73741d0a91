import Foundation

/// What llama-server reports on its own `GET /metrics` (with `--metrics`), read from the Prometheus text.
///
/// llama-server writes unlabeled samples named `llamacpp:NAME`. The text is outside input: lines that do
/// not parse, values that are not finite or negative, and names beyond the ones read here are skipped;
/// nothing traps, and a body larger than `maxBytes` is not read at all.
public struct LlamaServerMetrics: Sendable, Equatable {
    /// `llamacpp:prompt_tokens_total`: prompt tokens processed.
    public var promptTokens: Double?
    /// `llamacpp:tokens_predicted_total`: tokens generated.
    public var generatedTokens: Double?
    /// `llamacpp:n_decode_total`: `llama_decode` calls.
    public var decodeCalls: Double?
    /// `llamacpp:requests_processing`: requests in a slot now.
    public var requestsProcessing: Double?
    /// `llamacpp:requests_deferred`: requests waiting for a slot now.
    public var requestsDeferred: Double?
    /// `llamacpp:spec_decode_num_draft_tokens_total`: tokens drafted (speculative decoding).
    public var draftTokens: Double?
    /// `llamacpp:spec_decode_num_accepted_tokens_total`: drafted tokens the model accepted.
    public var draftAccepted: Double?

    /// Accepted / drafted since the server started; nil before anything was drafted.
    public var draftAcceptance: Double? {
        guard let d = draftTokens, let a = draftAccepted, d > 0 else { return nil }
        return min(1, a / d)
    }

    public static let maxBytes = 1 << 20

    public init() {}

    /// Reads the samples this type knows; nil when the text is too large.
    public static func parse(_ text: String) -> LlamaServerMetrics? {
        guard text.utf8.count <= maxBytes else { return nil }
        var m = LlamaServerMetrics()
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            // `name value` or `name value timestamp`; labelled samples are not llama-server's and are skipped.
            guard parts.count == 2 || parts.count == 3, !parts[0].contains("{") else { continue }
            guard let value = Double(parts[1]), value.isFinite, value >= 0 else { continue }
            switch parts[0] {
            case "llamacpp:prompt_tokens_total": m.promptTokens = value
            case "llamacpp:tokens_predicted_total": m.generatedTokens = value
            case "llamacpp:n_decode_total": m.decodeCalls = value
            case "llamacpp:requests_processing": m.requestsProcessing = value
            case "llamacpp:requests_deferred": m.requestsDeferred = value
            case "llamacpp:spec_decode_num_draft_tokens_total": m.draftTokens = value
            case "llamacpp:spec_decode_num_accepted_tokens_total": m.draftAccepted = value
            default: continue
            }
        }
        return m
    }
}
