import Foundation

/// Keeps an rpc-worker's tensor cache under its cap. llama.cpp never removes what `-c` stored
/// (#27585), so before each start of the worker the oldest files go until the rest fit.
public enum TensorCacheTrim {
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var bytes: Int
        /// Seconds since 1970 of the last modification: older goes first.
        public var modified: Double
        public init(path: String, bytes: Int, modified: Double) {
            self.path = path
            self.bytes = bytes
            self.modified = modified
        }
    }

    /// The paths to remove, oldest first (ties by path), so what remains totals at most `cap` bytes.
    /// Sizes come from the disk: negative ones count as 0 and the sum saturates, never traps.
    public static func toRemove(_ entries: [Entry], cap: Int) -> [String] {
        var total = entries.reduce(0) { $0.addingReportingOverflow(max($1.bytes, 0)).overflow ? .max : $0 + max($1.bytes, 0) }
        var out: [String] = []
        for e in entries.sorted(by: { ($0.modified, $0.path) < ($1.modified, $1.path) }) where total > cap {
            out.append(e.path)
            total -= max(e.bytes, 0)
        }
        return out
    }

    /// The regular files under `directory`, for `toRemove`; nothing when it does not exist.
    public static func entries(in directory: URL) -> [Entry] {
        let keys: [URLResourceKey] = [.isRegularFileKey, .fileSizeKey, .contentModificationDateKey]
        guard let walk = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: keys) else { return [] }
        var out: [Entry] = []
        for case let url as URL in walk {
            guard let v = try? url.resourceValues(forKeys: Set(keys)), v.isRegularFile == true else { continue }
            out.append(Entry(path: url.path, bytes: v.fileSize ?? 0, modified: v.contentModificationDate?.timeIntervalSince1970 ?? 0))
        }
        return out
    }

    /// Trims `directory` to `cap` bytes; returns the bytes removed.
    @discardableResult
    public static func trim(_ directory: URL, cap: Int) -> Int {
        let entries = entries(in: directory)
        let bytes = Dictionary(entries.map { ($0.path, max($0.bytes, 0)) }) { a, _ in a }
        var removed = 0
        for p in toRemove(entries, cap: cap) where (try? FileManager.default.removeItem(atPath: p)) != nil {
            removed = removed.addingReportingOverflow(bytes[p] ?? 0).overflow ? .max : removed + (bytes[p] ?? 0)
        }
        return removed
    }
}
