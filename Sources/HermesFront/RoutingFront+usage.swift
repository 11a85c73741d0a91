import HTTPTypes
import HermesCore

extension RoutingFront {
    /// `edits` plus `ask` (the one that asks an OpenAI-style stream for its usage chunk), in body order.
    static func adding(_ ask: BodyEdit?, to edits: [BodyEdit]) -> [BodyEdit] {
        guard let ask else { return edits }
        return (edits + [ask]).sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    /// The receipt of a whole answer: `X-Hermes-Tokens: input=812, output=64, cached=512` (what the
    /// upstream reported) and `X-Hermes-Cost: 0.004218` dollars, or `unpriced`.
    func receipt(_ headers: inout HTTPFields, usage: AnswerUsage, price: Price?) {
        guard let text = Self.tokensText(usage) else { return }
        headers[.hermesTokens] = text
        headers[.hermesCost] = Self.costText(usage, price: price)
    }

    static func tokensText(_ u: AnswerUsage) -> String? {
        var parts: [String] = []
        if let v = u.input { parts.append("input=\(v)") }
        if let v = u.output { parts.append("output=\(v)") }
        if let v = u.cached { parts.append("cached=\(v)") }
        if let v = u.localCached { parts.append("local_cached=\(v)") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    static func costText(_ u: AnswerUsage, price: Price?) -> String {
        guard let price else { return "unpriced" }
        return price.cost(u)?.dollarsText ?? "unknown"
    }

    /// The event's `tokens`, `cost_usd` (or `"unpriced": true`) and, for a local answer with a priced
    /// burst profile, `saved_usd`; and `hermes_tokens_total{profile,kind}`.
    func addUsage(_ e: inout JSONLine, _ u: AnswerUsage, _ f: RequestRecord.Fields) {
        guard !u.isEmpty else { return }
        var t = JSONLine(capacity: 80)
        t.add("input", u.input)
        t.add("output", u.output)
        t.add("cached", u.cached)
        t.add("local_cached", u.localCached)
        e.add("tokens", object: t)
        if let price = f.price {
            if let c = price.cost(u) { e.add("cost_nusd", Int(c.nanodollars)) }
        } else {
            e.add("unpriced", true)
        }
        if let saved = f.burstPrice?.cost(u) { e.add("saved_nusd", Int(saved.nanodollars)) }
        let p = f.profile ?? "none"
        for (kind, v) in [("input", u.input), ("output", u.output), ("cached", u.cached ?? u.localCached)] {
            if let v, v > 0 { metrics.counter("hermes_tokens_total", [("profile", p), ("kind", kind)]).increment(by: Int64(v)) }
        }
    }
}

extension HTTPField.Name {
    static let hermesTokens = HTTPField.Name("X-Hermes-Tokens")!
    static let hermesCost = HTTPField.Name("X-Hermes-Cost")!
}
