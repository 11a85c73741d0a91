import CFuzzDriver
import Foundation
import HermesCore

/// libFuzzer entry for the answers upstreams send back through the front, and llama-server's own
/// `/metrics` text. The first byte picks the chunk sizes a stream arrives in; the rest is the answer.
/// What must hold beyond "no trap":
/// - `model` splicing edits only the spans it reports: every other byte goes out unchanged;
/// - an SSE stream spliced chunk by chunk gives the same bytes as the stream spliced in one piece, and
///   the event splitter gives the same payloads either way (the network decides the chunks, not us);
/// - the streamed tool-call judge, fed those payloads, says `.release` for ever once it is done;
/// - the whole-answer tool-call check and the request's tool list read any bytes;
/// - llama-server metrics come out finite and non-negative;
/// - Responses event numbering only inserts members after an event's opening brace (the rest of the
///   bytes unchanged), a numbered event is still one JSON object, and a numbered stream is numbered the
///   same however it is chunked.
/// - usage (`UsageReport`, `SSEUsageMeter`) stays in range and does not depend on the chunking, and a
///   meter that drops nothing passes the stream through byte for byte.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAnswer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let step = Int(data[0] % 64) + 1
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))

    // Whole answers: the splice touches its spans and nothing else.
    let spans = body.withUnsafeBufferPointer { ModelFieldSplice.spans(in: $0) }
    var last = 0
    for s in spans {
        guard s.lowerBound >= last, s.upperBound <= body.count, s.lowerBound < s.upperBound else {
            fatalError("a span out of order or out of bounds: \(s) after \(last) in \(body.count) bytes")
        }
        last = s.upperBound
    }
    let name = "asked-for"
    let spliced = ModelFieldSplice.replacing(in: body, with: name)
    var expected: [UInt8] = []
    last = 0
    for s in spans {
        expected += body[last..<s.lowerBound] + ModelFieldSplice.jsonString(name)
        last = s.upperBound
    }
    expected += body[last...]
    if spliced != expected { fatalError("the splice changed bytes outside its spans") }

    // Streams: chunking changes nothing.
    var whole = SSEModelSplice(name: name)
    let oneGo = whole.feed(body) + whole.finish()
    var chunked = SSEModelSplice(name: name)
    var pieces: [UInt8] = []
    var splitterWhole = SSEEventSplitter()
    let payloadsWhole = splitterWhole.feed(body)
    var splitter = SSEEventSplitter()
    var payloads: [Data] = []
    var judge = ToolCallStreamJudge(tools: ["get_weather", "search"])
    var i = 0
    while i < body.count {
        let chunk = body[i..<min(body.count, i + step)]
        pieces += chunked.feed(chunk)
        for p in splitter.feed(chunk) {
            payloads.append(p)
            let wasDone = judge.done
            let said = judge.feed(p)
            if wasDone && said != .release { fatalError("the judge spoke again after it was done: \(said)") }
        }
        i += step
    }
    pieces += chunked.finish()
    if pieces != oneGo { fatalError("SSE splicing depends on how the stream was chunked (step \(step))") }
    fuzzResponsesNumbering(body, payloads: payloadsWhole, step: step)
    if payloads != payloadsWhole { fatalError("SSE payloads depend on how the stream was chunked (step \(step))") }

    // Usage: counts in range however the stream is chunked; metering passes every byte of a stream
    // unless it drops the usage chunk, and the usage read is the same either way.
    if let r = UsageReport.read(body) { checkUsage(r.usage) }
    var meterWhole = SSEUsageMeter(dropUsageOnly: false)
    let meteredWhole = meterWhole.feed(body) + meterWhole.finish()
    if meteredWhole != body { fatalError("the usage meter changed a stream it was only to read") }
    var meterChunked = SSEUsageMeter(dropUsageOnly: true)
    i = 0
    while i < body.count {
        _ = meterChunked.feed(body[i..<min(body.count, i + step)])
        i += step
    }
    _ = meterChunked.finish()
    if meterChunked.usage != meterWhole.usage { fatalError("usage depends on how the stream was chunked (step \(step))") }
    checkUsage(meterWhole.usage)

    let answer = Data(body)
    for api in AgentAPI.allCases { _ = ToolCallCheck.check(answer: answer, api: api, tools: ["get_weather"]) }
    if let n = CacheCountScan.cacheN(in: body), n < 0 { fatalError("a negative cache_n") }

    if let m = LlamaServerMetrics.parse(String(decoding: body, as: UTF8.self)) {
        for v in [m.promptTokens, m.generatedTokens, m.decodeCalls, m.requestsProcessing, m.requestsDeferred, m.draftTokens,
                  m.draftAccepted, m.draftAcceptance] {
            if let v, !(v.isFinite && v >= 0) { fatalError("a metric out of range: \(v)") }
        }
    }
    return 0
}

/// Responses numbering over the whole body as one payload, over the stream's payloads, and over the
/// stream chunked as the network might.
func fuzzResponsesNumbering(_ body: [UInt8], payloads: [Data], step: Int) {
    var numbers = ResponsesEventNumbers()
    for payload in [body] + payloads.map(Array.init) {
        let out = numbers.number(payload)
        guard out != payload else { continue }
        guard let brace = payload.firstIndex(of: UInt8(ascii: "{")), out.count > payload.count,
            Array(out[...brace]) == Array(payload[...brace]), Array(out.suffix(payload.count - brace - 1)) == Array(payload[(brace + 1)...])
        else { fatalError("numbering changed bytes other than its insertion") }
        if (try? JSONSerialization.jsonObject(with: Data(payload))) is [String: Any],
            !((try? JSONSerialization.jsonObject(with: Data(out))) is [String: Any])
        {
            fatalError("numbering broke a JSON object: \(String(decoding: out, as: UTF8.self).prefix(200))")
        }
    }
    var whole = SSEModelSplice(name: "m")
    whole.numbers = ResponsesEventNumbers()
    let oneGo = whole.feed(body) + whole.finish()
    var chunked = SSEModelSplice(name: "m")
    chunked.numbers = ResponsesEventNumbers()
    var pieces: [UInt8] = []
    var i = 0
    while i < body.count {
        pieces += chunked.feed(body[i..<min(body.count, i + step)])
        i += step
    }
    pieces += chunked.finish()
    if pieces != oneGo { fatalError("Responses numbering depends on how the stream was chunked (step \(step))") }
}

func checkUsage(_ u: AnswerUsage) {
    for v in [u.input, u.output, u.cached, u.localCached] {
        if let v, !(0...AnswerUsage.maxTokens).contains(v) { fatalError("a token count out of range: \(v)") }
    }
    if let c = u.cached, let n = u.input, c > n { fatalError("more cached than input: \(c) > \(n)") }
    let price = Price(input: Money(nanodollars: 10_000_000_000_000), output: Money(nanodollars: 10_000_000_000_000))
    if let cost = price.cost(u), cost.nanodollars < 0 { fatalError("a negative cost") }
}

/// The executable's entry (libFuzzer's driver, through CFuzzDriver: see Fuzz/README.md).
@_cdecl("fuzz_answer_main")
public func fuzzAnswerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    hermes_fuzz_run(argc, argv, fuzzAnswer)
}
