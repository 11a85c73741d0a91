import CFuzzDriver
import HermesCore

/// libFuzzer entry: the bytes are a whole GGUF file. Reads it, summarises it for the memory estimate,
/// and runs every estimate and verdict the supervisor and `doctor` run, with launch settings taken from
/// the input's last bytes. A thrown `GGUFError` is a correct answer; a trap or a hang is the bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let file = try? GGUFReader().read(bytes: bytes, path: "fuzz.gguf") else { return 0 }
    _ = file.tensorBytes
    _ = file.weightsBytes
    for t in file.tensors { _ = t.bytes; _ = t.type.name }
    _ = file.metadata.values.map(\.description)
    guard let info = try? GGUFModelInfo(file: file) else { return 0 }

    // Launch settings from the tail, so the corpus explores them too.
    let tail = bytes.suffix(8).map(Int.init)
    func pick(_ i: Int) -> Int { tail.indices.contains(tail.startIndex + i) ? tail[tail.startIndex + i] : 0 }
    var settings = LlamaServerSettings()
    settings.context = [0, 1, 256, 8192, 65536, 1 << 24][pick(0) % 6]
    settings.slots = [1, 2, 4, 256][pick(1) % 4]
    settings.cacheType = KVCacheType.allCases[pick(2) % KVCacheType.allCases.count].rawValue
    settings.gpuLayers = ["all", "auto", "0", "1", "20", "99999", "-1"][pick(3) % 7]
    let estimate = MemoryEstimate(model: info, settings: settings)
    _ = estimate.breakdown
    _ = estimate.placement
    let budgets: [UInt64] = [0, 1 << 20, 512 << 20, 16 << 30, 1 << 40, .max]
    for available in budgets {
        let verdict = estimate.verdict(available: available, pool: "GTT")
        _ = verdict.message
        _ = verdict.hint
        _ = estimate.largestContext(fitting: available)
        let split = estimate.verdict(device: MemoryPoolBudget(name: "VRAM", availableBytes: available),
                                     host: MemoryPoolBudget(name: "system memory", availableBytes: available / 2))
        _ = split.message
        _ = split.hint
    }
    return 0
}

/// The process entry (SwiftPM aliases `main` to it on Linux): libFuzzer's driver on `fuzzGGUF`.
@_cdecl("fuzz_gguf_main")
public func fuzzGGUFMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    hermes_fuzz_run(argc, argv, fuzzGGUF)
}
