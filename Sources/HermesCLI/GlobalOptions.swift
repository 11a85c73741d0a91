import ArgumentParser
import Foundation
import HermesCore

/// Flags every subcommand shares.
public struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The config root (default: $HERMES_RUNTIME_HOME or ~/.config/hermes-runtime).")
    public var config: String?

    @Flag(name: .long, help: "Print machine-readable JSON.")
    public var json = false

    @Flag(name: .long, help: "Say more.")
    public var verbose = false

    public init() {}

    /// The resolved config root and state locations.
    public func paths() -> RuntimePaths {
        RuntimePaths.resolve(configOverride: config, environment: ProcessInfo.processInfo.environment)
    }
}
