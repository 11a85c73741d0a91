import Foundation

/// What the status page shows beyond the front's own routing: the daemon, its servers, the GPU, the
/// servers' logs, and the buttons. The front does not import the supervisor, so the daemon hands it
/// one of these through ``FrontOptions/statusPage``; without one the page shows routing alone.
public protocol StatusPageSource: Sendable {
    /// A JSON object whose keys (`daemon`, `servers`, `gpu`) go into `/ui/state.json` as they are.
    func snapshot() async -> Data
    /// The last `lines` lines of a local profile's server log; nil when the profile has no log.
    func logTail(profile: String, lines: Int) async -> [String]?
    /// Carries out a button. Returns the HTTP status and a message for a person.
    func perform(_ action: StatusPageAction, profile: String) async -> (status: Int, message: String)
}

/// The page's buttons. `unload` frees a model's memory: today that is a stop; once models load on
/// demand (issue #12) the server stays managed and loads again on the next request.
public enum StatusPageAction: String, Sendable, CaseIterable {
    case start, stop, unload
}
