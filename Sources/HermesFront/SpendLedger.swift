import Foundation
import HermesCore
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The spend ledger on disk, `STATE/spend/`: today's answers appended one line each to `DAY.jsonl`
/// (one `write(2)` with `O_APPEND`, so a line is in the kernel before the answer's event is, and a
/// `kill -9` loses nothing finished), and every earlier day compacted into `DAY.sum.jsonl` (one line per
/// profile and source). See docs/architecture.md, "The spend ledger".
///
/// Reading it back is reading outside input: a line that does not parse (cut by a crash, edited) is
/// skipped and reported, never trusted and never fatal; a request id seen twice counts once.
public final class SpendLedger: Sendable {
    struct State {
        var fd: Int32 = -1
        var openDay: LocalDay?
        var totals = SpendTotals()
        /// Ids read from today's file and given to `record(_:)` (a line replayed twice counts once). The
        /// ledger's own ids (`record(answer:)`) are unique by making and are not kept.
        var ids: Set<String> = []
    }

    public let directory: URL
    /// Compacted days older than this are deleted: the disk holds at most ~13 months of summaries.
    public static let keepDays = 400
    let state = Mutex(State())
    let logger: Logger
    /// The ledger's own ids are this random prefix (one per process) and a count: unique without a
    /// random number per answer, and never one of an earlier run's.
    let idPrefix: String
    let idCount = Atomic<UInt64>(0)
    /// Lines skipped on load, as `(file, line number)`.
    public let skipped: [(file: String, line: Int)]

    /// Loads every day on disk (compacting finished days) as of `today`.
    public init(directory: URL, today: LocalDay, logger: Logger) {
        self.directory = directory
        self.logger = logger
        var g = SystemRandomNumberGenerator()
        idPrefix = String(g.next() as UInt64, radix: 16) + "-"
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var s = State()
        var skipped: [(String, Int)] = []
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
        for name in names {
            let isSummary = name.hasSuffix(".sum.jsonl")
            guard name.hasSuffix(".jsonl"), let day = LocalDay(name.prefix(10)) else { continue }
            let path = directory.appendingPathComponent(name).path
            if LedgerReader.ageInDays(day, today: today) > Self.keepDays {
                unlink(path)
                continue
            }
            // A raw day that was already compacted (a crash between rename and unlink) counts once.
            if !isSummary, names.contains("\(day).sum.jsonl") {
                unlink(path)
                continue
            }
            let (entries, bad) = LedgerReader.lines(ofFile: path)
            skipped += bad.map { (name, $0) }
            var kept: [LedgerEntry] = []
            for e in entries where e.day == day {
                if let id = e.id, day == today, !s.ids.insert(id).inserted { continue }
                kept.append(e)
            }
            if !isSummary, day < today, Self.writeSummary(SpendTotals.compact(kept), day: day, directory: directory) {
                unlink(path)
            }
            for e in kept { s.totals.add(e) }
        }
        self.skipped = skipped
        state.withLock { $0 = s }
        for (file, line) in skipped {
            logger.warning("ledger line skipped", metadata: ["file": "\(file)", "line": "\(line)"])
        }
    }

    deinit { state.withLock { if $0.fd >= 0 { close($0.fd) } } }

    /// Records one answer that just finished, under an id of the ledger's own: on disk first, then in
    /// the totals budgets read.
    public func record(answer e: LedgerEntry) {
        var e = e
        e.id = idPrefix + String(idCount.wrappingAdd(1, ordering: .relaxed).newValue)
        append(e, checkID: false)
    }

    /// Records one entry that carries its id (counted once however often it is given).
    public func record(_ e: LedgerEntry) { append(e, checkID: true) }

    func append(_ e: LedgerEntry, checkID: Bool) {
        var bytes = e.line()
        bytes.append(0x0A)
        state.withLock { s in
            if checkID, let id = e.id, !s.ids.insert(id).inserted { return }
            if s.openDay != e.day {
                if s.fd >= 0 { close(s.fd) }
                s.fd = Glibc.open(directory.appendingPathComponent("\(e.day).jsonl").path,
                                  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
                // Earlier days' ids cannot come back: only today's are kept.
                if let open = s.openDay, open < e.day { s.ids = checkID ? e.id.map { [$0] } ?? [] : [] }
                s.openDay = e.day
            }
            if s.fd >= 0 { _ = bytes.withUnsafeBytes { Glibc.write(s.fd, $0.baseAddress, $0.count) } }
            s.totals.add(e)
        }
    }

    /// Reads the totals in place (a budget check per request: no copy, and no copy-on-write of the
    /// whole table when an answer is recorded while a copy is held).
    public func withTotals<R>(_ body: (SpendTotals) -> R) -> R { state.withLock { body($0.totals) } }

    /// A copy of the totals (budgets, `spend`, the status page).
    public var totals: SpendTotals { state.withLock { $0.totals } }

    /// `DAY.sum.jsonl` through a temporary file and a rename: a crash leaves the old state or the new.
    @discardableResult
    static func writeSummary(_ entries: [LedgerEntry], day: LocalDay, directory: URL) -> Bool {
        var bytes: [UInt8] = []
        for e in entries { bytes += e.line() + [0x0A] }
        let tmp = directory.appendingPathComponent("\(day).sum.jsonl.tmp")
        let final = directory.appendingPathComponent("\(day).sum.jsonl")
        let fd = Glibc.open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        let ok = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count && fsync(fd) == 0
        close(fd)
        if ok, rename(tmp.path, final.path) == 0 { return true }
        unlink(tmp.path)
        return false
    }
}
