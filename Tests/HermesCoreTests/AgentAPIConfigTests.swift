import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// `apis`, `vision`, `mmproj` and `promote_bad_tool_calls`: defaults, inheritance, errors with lines.
@Suite struct AgentAPIConfigTests {
    static let remote = """
        kind: openai
        base_url: https://api.example.com/v1
        """

    @Test func defaultsByKind() throws {
        let root = try TempRoot(profiles: ["local": localProfile(), "cloud": Self.remote])
        let (config, diagnostics) = root.validate()
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics)")
        let c = try #require(config)
        let local = try #require(c.profiles["local"])
        let cloud = try #require(c.profiles["cloud"])
        #expect(local.apis == [.chat, .responses, .messages])
        #expect(cloud.apis == [.chat])
        #expect(!local.canSee)
        #expect(!cloud.canSee)
        #expect(!local.promotesBadToolCalls)
    }

    @Test func keysAreReadAndInherited() throws {
        let root = try TempRoot(profiles: [
            "base": localProfile(extra: "mmproj: /models/mmproj.gguf\npromote_bad_tool_calls: true\napis: [messages, chat]"),
            "child": "extends: base\nport: 8091\n",
            "anthropic": Self.remote + "\napis: messages\nvision: true\n",
        ])
        let (config, diagnostics) = root.validate()
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics)")
        let c = try #require(config)
        let child = try #require(c.profiles["child"])
        #expect(child.apis == [.chat, .messages])
        #expect(child.canSee)
        #expect(child.promotesBadToolCalls)
        #expect(child.llamaServer?.mmproj == "/models/mmproj.gguf")
        let anthropic = try #require(c.profiles["anthropic"])
        #expect(anthropic.apis == [.messages])
        #expect(anthropic.canSee)
        // The projector that is not there is a warning that names the key.
        #expect(diagnostics.contains { $0.severity == .warning && $0.keyPath == "mmproj" })
    }

    @Test func visionFalseOverridesTheProjector() throws {
        let root = try TempRoot(profiles: ["local": localProfile(extra: "mmproj: \(modelFile)\nvision: false")])
        let c = try #require(root.validate().0)
        #expect(c.profiles["local"]?.canSee == false)
    }

    @Test func unknownAPIIsAnErrorWithItsLine() throws {
        let root = try TempRoot(profiles: ["local": localProfile(extra: "apis: [chat, mesages]")])
        let (_, diagnostics) = root.validate()
        let e = try #require(diagnostics.first { $0.severity == .error && $0.keyPath == "apis" })
        #expect(e.message.contains("unknown API 'mesages'"))
        #expect(e.message.contains("did you mean 'messages'"))
        #expect(e.line == 4)
    }

    @Test func promotionBelongsToLocalProfiles() throws {
        let root = try TempRoot(profiles: ["cloud": Self.remote + "\npromote_bad_tool_calls: true\n"])
        let (_, diagnostics) = root.validate()
        let e = try #require(diagnostics.first { $0.severity == .error })
        #expect(e.message.contains("belongs to kind: llama-server"))
    }

    @Test func visionMustBeABoolean() throws {
        let root = try TempRoot(profiles: ["local": localProfile(extra: "vision: maybe")])
        let (_, diagnostics) = root.validate()
        #expect(diagnostics.contains { $0.severity == .error && $0.keyPath == "vision" })
    }

    @Test func aBurstThatSpeaksNoneOfItsSourcesAPIsIsAWarning() throws {
        let root = try TempRoot(profiles: [
            "local": localProfile(extra: "burst: anthropic\napis: [chat]"),
            "anthropic": Self.remote + "\napis: [messages]\n",
        ])
        let (_, diagnostics) = root.validate()
        let w = try #require(diagnostics.first { $0.severity == .warning && $0.keyPath == "burst" })
        #expect(w.message.contains("does not speak chat"))
        // The usual pair (local speaks all three, the cloud chat) is not worth a warning.
        let usual = try TempRoot(profiles: ["local": localProfile(extra: "burst: cloud"), "cloud": Self.remote])
        #expect(!usual.validate().1.contains { $0.keyPath == "burst" })
    }

    @Test func mmprojBecomesTheFlag() throws {
        let dialect = LlamaServerDialect.parse(help: try fixture("llama-server-b11434-help.txt"))
        var s = LlamaServerSettings()
        s.model = "/m.gguf"
        s.port = 8080
        s.mmproj = "/models/mmproj.gguf"
        let cmd = try LlamaServerCommand.build(profile: "p", settings: s, executable: "/bin/llama-server", dialect: dialect)
        let i = try #require(cmd.arguments.firstIndex(of: "--mmproj"))
        #expect(cmd.arguments[i + 1] == "/models/mmproj.gguf")
    }
}
