/// What `hermes-runtime --version` prints. `buildCommit` comes from a file Plugins/BuildInfoPlugin
/// generates at build time (the clone's `git rev-parse --short=12 HEAD`, `-dirty` with local changes).
public enum BuildInfo {
    /// The release this source tree is; raised by hand when one is cut.
    public static let version = "0.5.0"
    /// The git commit the binary was built from, or `unknown` outside a checkout.
    public static let commit = buildCommit
    /// `hermes-runtime 0.5.0 (commit 1a2b3c4d5e6f)`.
    public static var line: String { "hermes-runtime \(version) (commit \(commit))" }
}
