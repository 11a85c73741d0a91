import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

@Suite struct HermesProfileImportTests {
    static let secret = "sk-or-v1-0123456789abcdef0123456789abcdef"

    func convert(_ config: String, dotenv: String? = nil, env: [String: String] = [:]) throws -> HermesProfileImport.Result {
        try HermesProfileImport.convert(configYAML: config, dotenv: dotenv, name: "work", source: "/home/u/.hermes/profiles/work",
                                        environment: env)
    }

    /// The written file and every note, checked for the key.
    func expectNoSecret(_ r: HermesProfileImport.Result) {
        #expect(!r.yaml.contains(Self.secret))
        #expect(!r.notes.joined().contains(Self.secret))
        #expect(!r.yaml.contains("sk-or"))
    }

    @Test func literalKeyIsReplacedByTheDotenvVariableHoldingIt() throws {
        let r = try convert("""
            model:
              provider: custom
              base_url: https://openrouter.ai/api/v1/
              default: anthropic/claude-sonnet-4
              context_length: 200000
              api_key: \(Self.secret)
            """, dotenv: "# keys\nOTHER=1\nexport MY_ROUTER_KEY=\"\(Self.secret)\"\n", env: ["MY_ROUTER_KEY": "x"])
        #expect(r.keySource == .matchedInDotenv("MY_ROUTER_KEY"))
        #expect(r.apiKeyEnv == "MY_ROUTER_KEY")
        #expect(r.baseURL == "https://openrouter.ai/api/v1")
        expectNoSecret(r)
        // The file is a valid profile with exactly these values.
        let (profiles, diagnostics) = ConfigLoader.parseProfiles([("work", "work.yaml", r.yaml)], environment: [:])
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let s = try #require(profiles["work"]?.openai)
        #expect(s.apiKeyEnv == "MY_ROUTER_KEY")
        #expect(s.model == "anthropic/claude-sonnet-4")
        #expect(s.context == 200000)
        #expect(s.baseURL == "https://openrouter.ai/api/v1")
    }

    @Test func variableReferenceIsKept() throws {
        let r = try convert("""
            model:
              provider: custom
              base_url: http://127.0.0.1:8080/v1
              default: gemma
              api_key: ${LOCAL_KEY}
            """)
        #expect(r.keySource == .reference("LOCAL_KEY"))
        #expect(r.yaml.contains("api_key_env: LOCAL_KEY\n"))
    }

    @Test func literalKeyFoundNowhereNamesTheVariableToSetWithoutTheKey() throws {
        let r = try convert("""
            model: { provider: openrouter, default: x/y, api_key: "\(Self.secret)" }
            """, dotenv: "OPENROUTER_API_KEY=something-else\n")
        #expect(r.keySource == .literalNotFound("OPENROUTER_API_KEY"))
        #expect(r.notes.contains { $0.contains("set OPENROUTER_API_KEY") })
        expectNoSecret(r)
    }

    @Test func providerWithoutBaseURLMapsToItsKnownAddress() throws {
        let r = try convert("model:\n  provider: openrouter\n  default: anthropic/claude-sonnet-4\n", env: ["OPENROUTER_API_KEY": "k"])
        #expect(r.baseURL == "https://openrouter.ai/api/v1")
        #expect(r.keySource == .providerDefault("OPENROUTER_API_KEY", isSet: true))
        #expect(r.notes.contains { $0.contains("provider 'openrouter' means https://openrouter.ai/api/v1") })
    }

    @Test func unknownProviderWithoutBaseURLFails() {
        let failure = #expect(throws: HermesProfileImport.Failure.self) {
            try convert("model:\n  provider: somewhere\n  default: m\n")
        }
        #expect(failure?.message.contains("needs a base_url") == true)
        #expect(throws: HermesProfileImport.Failure.self) { try convert("agent: {}\n") }
        #expect(throws: HermesProfileImport.Failure.self) { try convert("model:\n  base_url: ftp://x\n") }
    }

    @Test func dotenvParsing() {
        let vars = HermesProfileImport.parseDotenv("""
            # comment
            A=1
            export B = 'two words'
            C="x#y"
            D=plain # trailing
            not a line
            1BAD=x
            """)
        #expect(vars.map(\.name) == ["A", "B", "C", "D"])
        #expect(vars.map(\.value) == ["1", "two words", "x#y", "plain"])
    }

    @Test func profileNamesFromDirectories() {
        #expect(HermesProfileImport.profileName(fromDirectory: "/home/u/.hermes/profiles/work") == "work")
        #expect(HermesProfileImport.profileName(fromDirectory: "/home/u/.hermes") == "hermes")
        #expect(HermesProfileImport.profileName(fromDirectory: "/x/my profile") == "my-profile")
    }
}
