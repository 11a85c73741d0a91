import Foundation
import Testing

@testable import HermesCore

func fixture(_ name: String) throws -> String {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return try String(contentsOf: url, encoding: .utf8)
}

@Suite struct LlamaServerDialectTests {
    let current: LlamaServerDialect
    let old: LlamaServerDialect

    init() throws {
        current = LlamaServerDialect.parse(help: try fixture("llama-server-b11434-help.txt"), version: "b11434")
        old = LlamaServerDialect.parse(help: try fixture("llama-server-b10001-help.txt"), version: "b10001")
    }

    @Test func learnsFlagsAndArities() {
        #expect(current.flags["-np"] == .required)
        #expect(current.flags["--parallel"] == .required)
        #expect(current.flags["--slots"] == LlamaServerDialect.Arity.none)
        #expect(current.flags["--no-slots"] == LlamaServerDialect.Arity.none)
        #expect(current.flags["-fa"] == .optional)
        #expect(current.flags["--threads"] == .required)
        #expect(current.flags["-t"] == .required)
        #expect(current.flags["-lm"] == .required)
        #expect(current.flags["--help"] == LlamaServerDialect.Arity.none)
        #expect(current.hasLoadMode)
        #expect(!current.hasMlockFlag)
        #expect(old.hasMlockFlag)
        #expect(!old.hasLoadMode)
        #expect(old.flags["--no-mmap"] == LlamaServerDialect.Arity.none)
    }

    @Test func theArticlesFlagsFailOnTheCurrentBuildWithTheFix() {
        let problems = current.check(arguments: ["--slots", "4", "--mlock"])
        #expect(problems.count == 2)
        #expect(problems[0].message.contains("--slots takes no value, but '4' follows it"))
        #expect(problems[0].hint?.contains("-np/--parallel") == true)
        #expect(problems[1].message.contains("--mlock is not accepted"))
        #expect(problems[1].hint?.contains("--load-mode mlock") == true)
        // The old build takes --mlock but still not a value after --slots.
        #expect(old.check(arguments: ["--mlock"]).isEmpty)
        #expect(old.check(arguments: ["--slots", "4"]).count == 1)
    }

    @Test func acceptsValidRawArguments() {
        #expect(current.check(arguments: ["--metrics", "-b", "512", "--temp=0.2", "--seed", "-1", "-fa", "on"]).isEmpty)
        #expect(current.check(arguments: ["--top-kk", "5"]).first?.message.contains("did you mean") == true)
        #expect(current.check(arguments: ["-c"]).first?.message == "-c needs a value")
    }

    func settings() -> LlamaServerSettings {
        var s = LlamaServerSettings()
        s.model = "/m.gguf"
        s.port = 8080
        s.context = 8192
        s.slots = 4
        s.mlock = true
        s.gpuLayers = "all"
        s.flashAttn = "on"
        s.env = ["HIP_VISIBLE_DEVICES": "0"]
        return s
    }

    @Test func buildsTheCurrentDialect() throws {
        let cmd = try LlamaServerCommand.build(profile: "p", settings: settings(), executable: "/bin/ls", dialect: current)
        #expect(cmd.arguments == ["-m", "/m.gguf", "--host", "127.0.0.1", "--port", "8080", "--metrics", "-c", "8192",
                                  "-np", "4", "-ngl", "all", "-fa", "on", "--load-mode", "mlock"])
        #expect(!cmd.arguments.contains("--slots"))
        #expect(cmd.environment == ["HIP_VISIBLE_DEVICES": "0"])
        var s = settings()
        s.mmap = true
        #expect(try LlamaServerCommand.build(profile: "p", settings: s, executable: "x", dialect: current).arguments.suffix(2) == ["--load-mode", "mmap+mlock"])
        s.mlock = false
        s.mmap = false
        #expect(try LlamaServerCommand.build(profile: "p", settings: s, executable: "x", dialect: current).arguments.suffix(2) == ["--load-mode", "none"])
    }

    @Test func buildsTheOldDialect() throws {
        var s = settings()
        s.mmap = false
        let cmd = try LlamaServerCommand.build(profile: "p", settings: s, executable: "x", dialect: old)
        #expect(cmd.arguments.contains("--mlock"))
        #expect(cmd.arguments.contains("--no-mmap"))
        #expect(!cmd.arguments.contains("--load-mode"))
        #expect(cmd.arguments.contains("-np"))
        // Old builds want a number of layers.
        #expect(cmd.arguments[cmd.arguments.firstIndex(of: "-ngl")! + 1] == "999")
    }

    @Test func rejectedRawArgsAreReportedBeforeLaunch() {
        var s = settings()
        s.args = ["--slots", "4", "-np", "2"]
        #expect(throws: CommandBuildError.self) {
            try LlamaServerCommand.build(profile: "p", settings: s, executable: "x", dialect: current)
        }
        do {
            _ = try LlamaServerCommand.build(profile: "p", settings: s, executable: "x", dialect: current)
        } catch let e as CommandBuildError {
            #expect(e.problems.contains { $0.contains("--slots takes no value") })
            #expect(e.problems.contains { $0.contains("-np is already set from a profile key") })
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func shellLineQuotes() {
        let cmd = LlamaServerCommand(executable: "/opt/llama server", arguments: ["-a", "it's"], environment: ["A": "1 2"], host: "h", port: 1)
        #expect(cmd.shellLine == "A='1 2' '/opt/llama server' -a 'it'\\''s'")
    }
}
