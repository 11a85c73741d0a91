import CFuzzDriver
import HermesCore

/// libFuzzer entry for the request path's parsers: the first byte picks the endpoint, the rest is a
/// request body. Checks what the decoder and the splicer promise:
/// - decoding never traps, whatever the bytes (refusals are RequestErrors with a 4xx status);
/// - for a body it accepts, the spliced body (a new model, a token clamp) decodes again, to the original
///   plus exactly those edits, and every byte outside the edits is unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    guard size > 0 else { return 0 }
    let endpoints = RoutedEndpoint.allCases
    let endpoint = endpoints[Int(data[0]) % endpoints.count]
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let before: DecodedRequest
    do {
        before = try RequestDecoder.decode(endpoint, body: body)
    } catch {
        if !(400..<500).contains(error.status) { fatalError("a refusal that is not a 4xx: \(error)") }
        return 0
    }
    _ = RouteContext(request: before, headers: ["x-hermes-toolsets": "a,b"])
    let names = RequestDecoder.toolNames(in: body, spans: before.toolSpans)
    if !names.isEmpty && !before.hasTools { fatalError("tool names without a tools list") }
    // Prefix keys: one per message plus the head, spans inside the body, and unchanged by the splice.
    let keys = PrefixKeys.keys(for: before, body: body)
    if keys.count != before.messageSpans.count + 1 { fatalError("not one prefix key per message plus the head") }
    if before.messageSpans.contains(where: { $0.lowerBound < 0 || $0.upperBound > body.count }) { fatalError("a message span outside the body") }
    let model = "m\"\\\u{1}é"
    let clamp = Int(data[0]) * 7
    let edits = BodySplice.edits(for: before, model: model, clampTokens: clamp)
    let spliced = BodySplice.apply(edits, to: body)
    let after: DecodedRequest
    do {
        after = try RequestDecoder.decode(endpoint, body: spliced)
    } catch {
        fatalError("the spliced body of an accepted request was refused: \(error)")
    }
    let expectedLimits = before.tokenLimits.map { l in l.value.map { $0 > clamp ? clamp : $0 } }
    guard after.model == model, after.tokenLimits.map(\.value) == expectedLimits, after.promptText == before.promptText,
        after.hasTools == before.hasTools, RequestDecoder.toolNames(in: spliced, spans: after.toolSpans) == names, after.hasImages == before.hasImages, after.stream == before.stream,
        after.metadata == before.metadata, after.slotID == before.slotID
    else { fatalError("the spliced body decodes to more than the original plus the edits") }
    if PrefixKeys.keys(for: after, body: spliced) != keys { fatalError("the front's edits changed the prefix keys") }
    if let first = edits.first, !spliced.prefix(first.range.lowerBound).elementsEqual(body.prefix(first.range.lowerBound)) {
        fatalError("bytes before the first edit changed")
    }
    if let last = edits.last {
        let tail = body.count - last.range.upperBound
        if !spliced.suffix(tail).elementsEqual(body.suffix(tail)) { fatalError("bytes after the last edit changed") }
    }
    return 0
}

/// The executable's entry (libFuzzer's driver, through CFuzzDriver: see Fuzz/README.md).
@_cdecl("fuzz_request_main")
public func fuzzRequestMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    hermes_fuzz_run(argc, argv, fuzzRequest)
}
