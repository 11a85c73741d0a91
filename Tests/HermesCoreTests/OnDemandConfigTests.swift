import Foundation
import Testing

@testable import HermesCore

/// `load`, `idle_unload`, `pinned`, `while_loading`: parsed, range-checked, inherited, pointed at by line.
@Suite struct OnDemandConfigTests {
    @Test func theKeysParseAndInheritThroughExtends() throws {
        let root = try TempRoot(profiles: [
            "base": localProfile(port: 8101, extra: "load: on-demand\nidle_unload: 2m\npinned: true\nwhile_loading: burst\nburst: cloud"),
            "child": "extends: base\nport: 8102\nidle_unload: 0\n",
            "cloud": "kind: openai\nbase_url: http://127.0.0.1:9/v1\n",
            "plain": localProfile(port: 8103),
        ])
        let (config, diagnostics) = root.validate()
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics)")
        let base = try #require(config?.profiles["base"]?.llamaServer)
        #expect(base.effectiveLoad == .onDemand)
        #expect(base.effectiveIdleUnload == 120)
        #expect(base.effectivePinned)
        #expect(base.effectiveWhileLoading == .burst)
        let child = try #require(config?.profiles["child"]?.llamaServer)
        #expect(child.effectiveLoad == .onDemand)
        #expect(child.effectiveIdleUnload == 0, "0 means never, and is not replaced by the default")
        #expect(child.effectivePinned)
        let plain = try #require(config?.profiles["plain"]?.llamaServer)
        #expect(plain.effectiveLoad == .manual, "manual stays the default")
        #expect(plain.effectiveIdleUnload == 0)
        #expect(!plain.effectivePinned)
        #expect(plain.effectiveWhileLoading == .wait)
    }

    @Test func anOnDemandProfileWithoutIdleUnloadGetsFifteenMinutes() throws {
        let root = try TempRoot(profiles: ["a": localProfile(port: 8104, extra: "load: on-demand")])
        let (config, _) = root.validate()
        #expect(config?.profiles["a"]?.llamaServer?.effectiveIdleUnload == 900)
    }

    @Test func badValuesAreErrorsAtTheirLine() throws {
        let root = try TempRoot(profiles: [
            "a": localProfile(port: 8105, extra: "load: ondemand\nidle_unload: 30d\nwhile_loading: queue\npinned: maybe"),
            "b": localProfile(port: 8106, extra: "load: on-demand\nidle_unload: 8000000"),
        ])
        let (_, diagnostics) = root.validate()
        let byKey = Dictionary(grouping: diagnostics.filter { $0.severity == .error }, by: { "\($0.file.split(separator: "/").last ?? ""):\($0.keyPath ?? "")" })
        let load = try #require(byKey["a.yaml:load"]?.first)
        #expect(load.message.contains("did you mean 'on-demand'"), "\(load.message)")
        #expect(load.line == 4)
        #expect(byKey["a.yaml:idle_unload"]?.first?.message.contains("duration") == true)
        #expect(byKey["a.yaml:while_loading"]?.first?.message.contains("wait or burst") == true)
        #expect(byKey["a.yaml:pinned"]?.first != nil)
        let tooLong = try #require(byKey["b.yaml:idle_unload"]?.first)
        #expect(tooLong.message.contains("at most 7 days"))
    }

    @Test func keysThatDoNothingOnAManualProfileAreWarnings() throws {
        let root = try TempRoot(profiles: [
            "a": localProfile(port: 8107, extra: "idle_unload: 5m\nwhile_loading: burst"),
            "b": localProfile(port: 8108, extra: "load: on-demand\nwhile_loading: burst"),
        ])
        let (_, diagnostics) = root.validate()
        let warnings = diagnostics.filter { $0.severity == .warning }.map(\.message)
        #expect(warnings.contains("idle_unload applies only to load: on-demand profiles"))
        #expect(warnings.contains("while_loading applies only to load: on-demand profiles"))
        #expect(warnings.contains("while_loading: burst without a burst profile: requests wait for the load"))
    }
}
