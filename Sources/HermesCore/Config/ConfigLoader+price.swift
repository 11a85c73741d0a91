import Foundation
import Yams

extension ConfigLoader {
    /// `price: {input: 3.00, cached_input: 0.30, output: 15.00}`: dollars per million tokens, each
    /// 0...10000 with at most 9 decimals; `input` and `output` are required (a half price would
    /// undercount), `cached_input` defaults to `input`.
    static func parsePrice(_ node: Node, reader: YAMLReader) -> Price? {
        var input: Money?, cached: Money?, output: Money?
        var ok = true
        for f in reader.mapping(node, path: "price", allowed: priceKeys) ?? [] where !YAMLReader.isEmpty(f.value) {
            let p = "price.\(f.key)"
            guard let m = dollars(f.value, path: p, limit: Price.maxDollarsPerMillion, reader: reader) else {
                ok = false
                continue
            }
            switch f.key {
            case "input": input = m
            case "cached_input": cached = m
            default: output = m
            }
        }
        guard case .mapping = node, ok else { return nil }
        for (key, v) in [("input", input), ("output", output)] where v == nil {
            reader.add(.error, node, path: "price.\(key)", "missing key '\(key)' (dollars per million tokens; 0 for free)")
        }
        guard let input, let output else { return nil }
        return Price(input: input, cachedInput: cached, output: output)
    }

    /// A dollar amount (`5`, `0.30`) in 0...limit, exact to the nanodollar.
    static func dollars(_ node: Node, path: String, limit: Int64, reader: YAMLReader) -> Money? {
        guard let text = reader.string(node, path: path) else { return nil }
        guard let m = Money(dollars: text.trimmingCharacters(in: .whitespaces), limit: limit) else {
            reader.add(.error, node, path: path,
                       "expected dollars from 0 to \(limit) with at most 9 decimals (e.g. 3.00), found '\(YAMLReader.shown(text))'")
            return nil
        }
        return m
    }
}
