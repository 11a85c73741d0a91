import CFuzzDriver
import Foundation
import HermesCore

/// libFuzzer entry for the spend ledger's reader (`STATE/spend/*.jsonl`, read back at every start).
/// What must hold beyond "no trap":
/// - a line that parses holds only values in range (a real day, counts that add without overflow,
///   cached within input, an id only on a single answer) and writes back to a line that parses to it;
/// - totals and compaction of whatever parsed compute, and compaction keeps money and answer counts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLedger(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var entries: [LedgerEntry] = []
    for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
        guard let e = LedgerEntry.parse(line) else { continue }
        if e.cached > e.input || e.answers < 1 || e.unpriced > e.answers || (e.id != nil && e.answers != 1) {
            fatalError("a parsed line out of range: \(e)")
        }
        if LedgerEntry.parse(e.line()) != e { fatalError("a line does not round-trip: \(e)") }
        entries.append(e)
    }
    var raw = SpendTotals()
    entries.forEach { raw.add($0) }
    var compacted = SpendTotals()
    let lines = SpendTotals.compact(entries)
    lines.forEach { compacted.add($0) }
    for l in lines where LedgerEntry.parse(l.line()) != l { fatalError("a compacted line does not round-trip: \(l)") }
    for (day, slice) in raw.days {
        let c = compacted.day(day)
        if c.total.cost != slice.total.cost || c.total.answers != slice.total.answers || c.total.unpriced != slice.total.unpriced {
            fatalError("compaction changed the totals of \(day)")
        }
    }
    // The month a budget reads is kept as entries come in: it must be the sum of that month's days.
    for d in raw.days.keys {
        var sum = SpendSlice()
        for (k, v) in raw.days where k.sameMonth(d) { sum.add(v) }
        if raw.month(of: d) != sum { fatalError("the month of \(d) is not the sum of its days") }
    }
    if let d = raw.days.keys.first {
        let v = BudgetCheck.verdict(profile: entries.first?.profile ?? "p", limit: BudgetLimit(day: Money(nanodollars: 1), month: .max),
                                    source: entries.first?.source, settings: BudgetSettings(), totals: raw, today: d,
                                    resets: BudgetResets(day: Date(timeIntervalSince1970: 0), month: Date(timeIntervalSince1970: 0)))
        _ = v.over?.description
    }
    return 0
}

/// The executable's entry (libFuzzer's driver, through CFuzzDriver: see Fuzz/README.md).
@_cdecl("fuzz_ledger_main")
public func fuzzLedgerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    hermes_fuzz_run(argc, argv, fuzzLedger)
}
