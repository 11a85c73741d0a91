import ArgumentParser

/// `hermes-bench`: micro-benchmarks that print a table and write their results as JSON.
/// Speed targets live here, never in timed unit tests.

struct HermesBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hermes-bench",
        abstract: "hermes-runtime benchmarks (results go to docs/benchmarks.md by hand, with the command).",
        subcommands: [SupervisorBench.self, GPUProbeBench.self, FrontBench.self, LedgerBench.self, SpeculativeBench.self]
    )
}
