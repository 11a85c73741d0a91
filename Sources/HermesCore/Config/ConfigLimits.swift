/// The ranges every loaded duration and size is held to (docs/configuration.md, "Limits").
///
/// The loader refuses anything outside them with the value's file:line:column, so nothing that
/// validates can trap later: a day in seconds is 8.64e7 ms, far inside `Int`, `Duration` and NIO's
/// `TimeAmount` (nanoseconds in Int64, ~292 years); a terabyte is far inside `Int`.
public enum ConfigLimits {
    /// Any duration: timeouts, intervals, waits, cooldowns, backoff steps. Zero is allowed (it turns
    /// some checks off); a day is longer than any wait a person means.
    public static let durations: ClosedRange<Double> = 0...86_400
    /// `restart.window`, over which restarts are counted: up to a week.
    public static let restartWindow: ClosedRange<Double> = 0...604_800
    /// `logs.max_bytes`: one log file before rotation.
    public static let logBytes: ClosedRange<Int> = 4096...(1 << 40)
    /// `front.max_body`: the largest request body held in memory.
    public static let bodyBytes: ClosedRange<Int> = 1024...(1 << 30)
    /// `cooldown_after`: consecutive failures before a remote cools down.
    public static let cooldownAfter: ClosedRange<Int> = 1...100
    /// A budget (`budget.day`, `budgets.total.month`, ...): up to a billion dollars, in nanodollars.
    public static let budgetNanodollars = 1_000_000_000 * 1_000_000_000
    /// Token counts (`context`, `predict`, `context_over`, `output_reserve`): 16 Mi tokens.
    public static let tokens = 1 << 24

    /// Every loaded value outside its range, as `profile.key: value`; empty for any config the loader
    /// accepted. The fuzz target and the mutation test assert this, so the loader and these limits
    /// cannot drift apart.
    public static func violations(in config: HermesConfig) -> [String] {
        var out: [String] = []
        func check(_ what: String, _ value: Double?, _ range: ClosedRange<Double> = durations) {
            if let value, !(value.isFinite && range.contains(value)) { out.append("\(what): \(value)") }
        }
        func check(_ what: String, _ value: Int?, _ range: ClosedRange<Int>) {
            if let value, !range.contains(value) { out.append("\(what): \(value)") }
        }
        let front = config.runtime.front
        check("front.max_body", front.maxBodyBytes, bodyBytes)
        check("front.listen port", front.port, 1...65535)
        check("logs.max_bytes", config.runtime.logs.maxBytes, logBytes)
        check("logs.keep", config.runtime.logs.keep, 1...100)
        check("budgets.warn_at", config.runtime.budgets.warnAtPermille, 0...1000)
        let limits = [config.runtime.budgets.total].compactMap { $0 } + Array(config.runtime.budgets.sources.values)
        for l in limits {
            check("budgets", l.day.map { Int($0.nanodollars) }, 0...budgetNanodollars)
            check("budgets", l.month.map { Int($0.nanodollars) }, 0...budgetNanodollars)
        }
        func check(_ name: String, restart r: ResolvedRestart) {
            for (i, b) in r.backoff.enumerated() { check("\(name).restart.backoff[\(i)]", b) }
            check("\(name).restart.window", r.window, restartWindow)
            check("\(name).restart.max_restarts", r.maxRestarts, 0...1000)
        }
        for p in config.profiles.values {
            if let w = p.rpcWorker {
                check("\(p.name).port", w.port, 1...65535)
                check("\(p.name).threads", w.threads, 1...4096)
                check("\(p.name).tensor_cache_max", w.tensorCacheMax, ConfigLoader.tensorCacheBytes)
                check(p.name, restart: w.effectiveRestart)
            }
            if let s = p.llamaServer {
                check("\(p.name).port", s.port, 1...65535)
                check("\(p.name).context", s.context, 0...tokens)
                check("\(p.name).predict", s.predict, -2...tokens)
                check("\(p.name).slots", s.slots, 1...256)
                if let sp = s.speculative {
                    for (key, v) in [("draft_max", sp.draftMax), ("ngram_size", sp.ngramSize), ("ngram_draft", sp.ngramDraft), ("min_hits", sp.minHits)] {
                        check("\(p.name).speculative.\(key)", v, SpeculativeSettings.counts)
                    }
                    check("\(p.name).speculative.draft_min", sp.draftMin, 0...SpeculativeSettings.counts.upperBound)
                }
                check("\(p.name).threads", s.threads, -1...4096)
                check("\(p.name).context_over", s.contextOver, 1...tokens)
                check("\(p.name).output_reserve", s.outputReserve, 0...tokens)
                check("\(p.name).queue_wait", s.queueWait)
                check("\(p.name).cache_ram", s.cacheRAM, KVCacheSettings.cacheRAMRange)
                let h = s.effectiveHealth
                check("\(p.name).health.interval", h.interval)
                check("\(p.name).health.timeout", h.timeout)
                check("\(p.name).health.startup_timeout", h.startupTimeout)
                check("\(p.name).health.generation_interval", h.generationInterval)
                check("\(p.name).health.generation_timeout", h.generationTimeout)
                check("\(p.name).health.failures", h.failures, 1...100)
                check(p.name, restart: s.effectiveRestart)
            }
            let perMillion = 0...Int(Price.maxDollarsPerMillion) * 1_000_000_000
            for (k, m) in [("input", p.price?.input), ("cached_input", p.price?.cachedInput), ("output", p.price?.output)] {
                check("\(p.name).price.\(k)", m.map { Int($0.nanodollars) }, perMillion)
            }
            check("\(p.name).budget.day", p.budget?.day.map { Int($0.nanodollars) }, 0...budgetNanodollars)
            check("\(p.name).budget.month", p.budget?.month.map { Int($0.nanodollars) }, 0...budgetNanodollars)
            if let s = p.openai {
                check("\(p.name).context", s.context, 1...tokens)
                check("\(p.name).cooldown", s.cooldown)
                check("\(p.name).timeout", s.timeout)
                check("\(p.name).cooldown_after", s.cooldownAfter, cooldownAfter)
                check("\(p.name).failure_window", s.failureWindow)
            }
        }
        return out
    }

    /// `1 day`, `90 s`, `500 ms`: for messages.
    public static func describe(seconds: Double) -> String {
        if seconds >= 86_400, seconds.truncatingRemainder(dividingBy: 86_400) == 0 {
            let days = Int(seconds / 86_400)
            return days == 1 ? "1 day" : "\(days) days"
        }
        if seconds > 0, seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }

    /// `4 KiB`, `1 GiB`, `1 TiB` for exact powers, else the byte count: for messages.
    public static func describe(bytes: Int) -> String {
        for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift) \(unit)"
        }
        return "\(bytes) bytes"
    }
}
