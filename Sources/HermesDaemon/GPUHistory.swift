import Foundation
import HermesGPU
import Synchronization

/// The last hour of the model pool's use, one point per GPU sample, for the status page's chart.
/// A fixed ring: memory stays the same however long the daemon runs.
final class GPUHistory: Sendable {
    struct Point: Sendable {
        var time: Date
        var pool: GPUMemoryPool
        var usedBytes: UInt64
        var totalBytes: UInt64
    }

    let capacity: Int
    /// Seconds between kept points: extra samples (`status` asks for a fresh one) do not shorten the hour.
    let spacing: TimeInterval
    private let ring = Mutex<(points: [Point], next: Int, last: Date?)>(([], 0, nil))

    /// `capacity` points `spacing` apart: 360 x 10 s is one hour.
    init(capacity: Int = 360, spacing: TimeInterval = 9.5) {
        self.capacity = max(1, capacity)
        self.spacing = spacing
    }

    /// Adds the report's model pool (the device with the most room, as `fit` picks it); a report
    /// without a readable pool adds nothing.
    func append(_ report: GPUReport, at time: Date = Date()) {
        guard let fit = report.fit else { return }
        let point = Point(time: time, pool: fit.pool, usedBytes: fit.usedBytes, totalBytes: fit.totalBytes)
        ring.withLock { r in
            if let last = r.last, time.timeIntervalSince(last) < spacing, time >= last { return }
            r.last = time
            if r.points.count < capacity {
                r.points.append(point)
            } else {
                r.points[r.next] = point
                r.next = (r.next + 1) % capacity
            }
        }
    }

    /// Oldest first.
    func points() -> [Point] {
        ring.withLock { r in
            r.points.count < capacity ? r.points : Array(r.points[r.next...] + r.points[..<r.next])
        }
    }
}
