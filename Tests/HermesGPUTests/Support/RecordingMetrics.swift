import CoreMetrics
import Foundation
import Synchronization

/// A metrics factory that remembers the last value of each gauge, keyed by label and dimensions.
final class RecordingMetrics: MetricsFactory, Sendable {
    private let values = Mutex<[String: Double]>([:])

    static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        label + "{" + dimensions.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
    }

    func value(_ label: String, _ dimensions: [String: String]) -> Double? {
        values.withLock { $0[Self.key(label, dimensions.map { ($0.key, $0.value) })] }
    }

    var keys: [String] { values.withLock { $0.keys.sorted() } }

    func set(_ key: String, _ value: Double) { values.withLock { $0[key] = value } }

    final class Recorder: RecorderHandler, CounterHandler, TimerHandler, Sendable {
        let key: String
        let owner: RecordingMetrics
        init(key: String, owner: RecordingMetrics) {
            self.key = key
            self.owner = owner
        }
        func record(_ value: Int64) { owner.set(key, Double(value)) }
        func record(_ value: Double) { owner.set(key, value) }
        func increment(by: Int64) {}
        func reset() {}
        func recordNanoseconds(_ duration: Int64) {}
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        Recorder(key: Self.key(label, dimensions), owner: self)
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        Recorder(key: Self.key(label, dimensions), owner: self)
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        Recorder(key: Self.key(label, dimensions), owner: self)
    }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
