import CFuzzDriver
import Foundation
import HermesCore

/// libFuzzer entry for what the front reads from upstreams: the first line is a `Retry-After` value,
/// the rest an upstream's JSON answer (`/v1/chat/completions/input_tokens`, `/tokenize`). Checks that
/// nothing traps and that what comes out stays in range: counts are non-negative, a Retry-After is a
/// finite non-negative number of seconds, cooldowns are capped, and the give-up answer's Retry-After
/// is a whole number of seconds within an hour. The body is also read as `/slots` (`SlotsReport`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUpstream(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let newline = bytes.firstIndex(of: 0x0A) ?? bytes.count
    let header = String(decoding: bytes[..<newline], as: UTF8.self)
    let body = Array(bytes[min(bytes.count, newline + 1)...])

    for key in ["input_tokens", "tokens"] {
        if let n = UpstreamJSON.count(key, in: body), n < 0 { fatalError("a negative count: \(n)") }
    }
    let retryAfter = UpstreamPolicy.retryAfter(header, now: Date(timeIntervalSince1970: 1_700_000_000))
    if let r = retryAfter, !(r.isFinite && r >= 0) { fatalError("Retry-After out of range: \(r)") }
    var settings = OpenAISettings()
    settings.cooldown = retryAfter
    let cooldown = UpstreamPolicy.cooldown(retryAfter: retryAfter, settings: settings)
    if !(cooldown >= 0 && cooldown <= 3600) { fatalError("cooldown out of range: \(cooldown)") }
    let status = size > 0 ? 400 + Int(data[0]) % 200 : 429
    let ends = [AttemptEnd(profile: "a", isLocal: false, kind: .status(429), retryAfter: retryAfter),
                AttemptEnd(profile: "b", isLocal: false, kind: .status(status), retryAfter: retryAfter)]
    let giveUp = AttemptPlan.giveUp(ends)
    if let r = giveUp.retryAfter, !(0...3600).contains(r) { fatalError("give-up Retry-After out of range: \(r)") }
    _ = AttemptEnd.kind(outcome: header)
    // The body as llama-server's `/slots`: the slots chosen are ones the answer listed, in range.
    let slots = Data(body)
    if let s = SlotsReport.lastServed(slots), !(0...255).contains(s) { fatalError("last served slot out of range: \(s)") }
    if let p = SlotsReport.probeSlot(slots), !(0...255).contains(p.slot) || p.holds < 0 { fatalError("probe slot out of range: \(p)") }
    return 0
}

/// The executable's entry (libFuzzer's driver, through CFuzzDriver: see Fuzz/README.md).
@_cdecl("fuzz_upstream_main")
public func fuzzUpstreamMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    hermes_fuzz_run(argc, argv, fuzzUpstream)
}
