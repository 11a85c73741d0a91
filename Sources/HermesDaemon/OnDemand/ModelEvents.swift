import Foundation
import HermesCore
import HermesFront

/// One JSON line per model load, unload, eviction or refusal in `model-events.jsonl` beside the front's
/// `events.jsonl` (a file of its own: the front's log rotates under its own lock).
///
/// `{"ts":"...","event":"unload","profile":"a","reason":"evicted_for=b"}`; never a prompt or a key.
final class ModelEvents: Sendable {
    let log: EventLog

    init(paths: RuntimePaths, settings: LogSettings) {
        log = EventLog(file: paths.stateDirectory.appendingPathComponent("model-events.jsonl"),
                       maxBytes: settings.maxBytes, keep: settings.keep)
    }

    func record(event: String, profile: String, reason: String, detail: String?) {
        var fields: [String: String] = ["ts": ISO8601DateFormatter().string(from: Date()), "event": event,
                                        "profile": profile, "reason": reason]
        if let detail { fields["detail"] = detail }
        guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        log.append(data)
    }
}
