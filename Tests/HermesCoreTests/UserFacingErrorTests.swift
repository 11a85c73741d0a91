import Foundation
import Testing

@testable import HermesCore

/// One shape for every error a person reads: a stable snake_case code, a one-line message, a hint, and
/// the cause beneath (`UserFacingError`, rendered the same way by the CLI and sent as `Problem`).
@Suite struct UserFacingErrorTests {
    @Test(arguments: [
        (Problem(code: "x", message: "it failed"), "it failed"),
        (Problem(code: "x", message: "it failed", hint: "do this"), "it failed\nhint: do this"),
        (Problem(code: "x", message: "it failed", cause: "ENOENT"), "it failed\ncause: ENOENT"),
        (Problem(code: "x", message: "it failed", hint: "h", cause: "last log lines:\na\nb"), "it failed\ncause: last log lines:\n  a\n  b\nhint: h"),
        (Problem(code: "x", message: "m", hint: "", cause: ""), "m"),
    ])
    func rendersMessageCauseHint(problem: Problem, text: String) {
        #expect(problem.rendered == text)
        #expect(problem.description == text)
    }

    /// Every error type of HermesCore a person can meet, one of each kind.
    static let samples: [any UserFacingError] = [
        GGUFError.cannotOpen(path: "/m.gguf", reason: "No such file or directory"),
        GGUFError.notGGUF(path: "/m.gguf", firstBytes: Array("<!DOCTYP".utf8)),
        GGUFError.unsupportedVersion(path: "/m.gguf", version: 9),
        GGUFError.truncated(path: "/m.gguf", offset: 24, reading: "the tensor count", fileSize: 24),
        GGUFError.absurdLength(path: "/m.gguf", offset: 8, what: "a string", length: 1 << 40, limit: 1 << 20),
        GGUFError.invalidValue(path: "/m.gguf", offset: 8, what: "a type tag", detail: "99"),
        GGUFError.missingMetadata(path: "/m.gguf", key: "general.architecture", detail: "is absent"),
        BackupError(.notFound, "no backup 'x'"),
        BackupError(.noBackups, "no backups yet"),
        RequestError(code: "invalid_json", message: "the request body is not valid JSON"),
        ConfigError([ConfigDiagnostic(.error, file: "runtimes/a.yaml", line: 3, keyPath: "slots", message: "not a number")]),
        CommandBuildError(profile: "a", problems: ["this build has no --swa-full flag"]),
        MemInfo.ReadError(path: "/proc/meminfo", reason: "no readable MemAvailable line"),
        RPCReplyError.length(3, expected: 16),
    ]

    @Test func everyErrorHasACodeAMessageAndRendersItFirst() {
        for e in Self.samples {
            let p = e.problem
            #expect(!p.code.isEmpty && p.code.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "\(p.code)")
            #expect(!p.message.isEmpty && !p.message.contains("\n"), "\(p.message)")
            #expect(e.rendered.hasPrefix(p.message))
            #expect(Problem(e as any Error) == p)
        }
        // Codes are names, not wording: each GGUF case has its own.
        let gguf = Self.samples.compactMap { $0 as? GGUFError }.map(\.code)
        #expect(Set(gguf).count == gguf.count)
        #expect(BackupError(.noBackups, "").code.name == "no_backups")
    }

    @Test func whatAFileProblemIsAndWhereItIs() throws {
        let e = GGUFError.truncated(path: "/models/q.gguf", offset: 24, reading: "the tensor count", fileSize: 24)
        #expect(e.rendered.contains("\ncause: in /models/q.gguf\nhint: download the model again"))
        let c = ConfigError([ConfigDiagnostic(.error, file: "runtimes/a.yaml", line: 3, keyPath: "slots", message: "not a number")])
        #expect(c.message == "the config has a problem")
        #expect(c.cause?.contains("runtimes/a.yaml:3") == true)
        #expect(c.hint?.contains("config validate") == true)
    }

    @Test func anErrorOfNoShapeIsInternalWithItsText() {
        struct Odd: Error {}
        let p = Problem(Odd())
        #expect(p.code == "internal" && p.message.contains("Odd"))
        #expect("noBackups".snakeCased == "no_backups" && "key_missing".snakeCased == "key_missing")
    }
}
