import ArgumentParser

/// `hermes-runtime gpu`: filled by the GPU work (issue 3).
struct GPUCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gpu", abstract: "GPU memory report.")
    @OptionGroup var global: GlobalOptions
    func run() async throws { throw ValidationError("not yet") }
}
