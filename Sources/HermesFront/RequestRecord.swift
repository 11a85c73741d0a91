import Foundation
import HermesCore
import Synchronization

/// What is known about one request from arrival to the end of its answer; becomes the JSONL event.
final class RequestRecord: Sendable {
    struct Fields: Sendable {
        var endpoint = ""
        var profile: String?
        var selectedBy: String?
        var rule: String?
        var reason = ""
        var reasons: [String] = []
        var attempts: [Attempt] = []
        var status = 0
        var stream = false
        var promptTokensEstimate = 0
        var promptTokensExact: Int?
        var promptSHA256: String?
        var promptChars = 0
        var bytesOut = 0
        var upstream: Duration = .zero
        var overhead: Duration = .zero
        var firstByte: Duration?
        var cut: String?
        /// Warm cache: the slot chosen, tokens restored into it first, and the answer's `cache_n`.
        var warmSlot: Int?
        var warmRestored: Int?
        var cacheN: Int?
        var error: String?
        /// The tokens the upstream reported for the answer (`usage`), nil before an answer.
        var usage: AnswerUsage?
        /// The answering profile's price (nil: unpriced) and, for a local answer, its burst profile's
        /// (what the same tokens would have cost there: what staying local saved).
        var price: Price?
        var burstPrice: Price?
        /// `X-Hermes-Source` / `metadata.source_kind`, for per-source spend.
        var source: String?
        /// The answer is in the spend ledger already (a whole answer, counted before it was sent).
        var spendRecorded = false
    }

    let id: String
    let start: ContinuousClock.Instant
    let wallClock: Date
    let fields = Mutex(Fields())
    /// Set once the event is written, so a request is never logged twice.
    let written = Mutex(false)

    init(id: String) {
        self.id = id
        self.start = .now
        self.wallClock = Date()
    }

    func update(_ body: (inout Fields) -> Void) { fields.withLock { body(&$0) } }
    var snapshot: Fields { fields.withLock { $0 } }
}

/// A slot (or plain in-flight count) held for a profile until the answer is done; released at most once,
/// and by `deinit` if a response body is dropped without ever being written.
final class SlotTicket: Sendable {
    let profile: String
    let counter: InFlight
    let metrics: FrontMetrics
    let released = Mutex(false)

    init(profile: String, counter: InFlight, metrics: FrontMetrics) {
        self.profile = profile
        self.counter = counter
        self.metrics = metrics
    }

    func release() {
        let first = released.withLock { r in
            defer { r = true }
            return !r
        }
        if first { metrics.inFlight(profile: profile, counter.release(profile)) }
    }

    deinit { release() }
}
