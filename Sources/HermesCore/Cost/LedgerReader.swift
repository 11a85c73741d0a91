import Foundation

/// Reads the spend ledger's files (`STATE/spend/`) without changing them: `spend` reads it this way
/// while the daemon may be writing; the daemon's own `SpendLedger` also compacts as it loads.
public enum LedgerReader {
    /// The entries of one file and the numbers of the lines that did not parse. A file larger than
    /// 256 MiB is not a ledger the daemon wrote in a day: only its first 256 MiB are read.
    public static func lines(ofFile path: String) -> ([LedgerEntry], [Int]) {
        guard let h = FileHandle(forReadingAtPath: path) else { return ([], []) }
        defer { try? h.close() }
        let data = (try? h.read(upToCount: 256 << 20)) ?? Data()
        var out: [LedgerEntry] = []
        var bad: [Int] = []
        var n = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            n += 1
            if line.isEmpty { continue }
            if let e = LedgerEntry.parse(line) { out.append(e) } else { bad.append(n) }
        }
        return (out, bad)
    }

    /// Every day in `directory`: a day's summary when it has one (its raw file, if still there, was
    /// already counted in it), else its raw lines, each request id once.
    public static func load(directory: URL) -> (totals: SpendTotals, skipped: Int) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
        var totals = SpendTotals()
        var skipped = 0
        var ids = Set<String>()
        for name in names where name.hasSuffix(".jsonl") {
            guard let day = LocalDay(name.prefix(10)) else { continue }
            if !name.hasSuffix(".sum.jsonl"), names.contains("\(day).sum.jsonl") { continue }
            let (entries, bad) = lines(ofFile: directory.appendingPathComponent(name).path)
            skipped += bad.count
            for e in entries where e.day == day {
                if let id = e.id, !ids.insert(id).inserted { continue }
                totals.add(e)
            }
        }
        return (totals, skipped)
    }

    /// Roughly how many days `d` is before `today` (months counted as 31 days: for keeping files, not billing).
    public static func ageInDays(_ d: LocalDay, today: LocalDay) -> Int {
        (today.year - d.year) * 372 + (today.month - d.month) * 31 + (today.day - d.day)
    }
}
