import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore

/// Many small mutations of the shipped config root (the repository's `runtime.yaml` and `runtimes/`):
/// each must either load, holding only values inside `ConfigLimits`, or fail with errors that all carry
/// file:line:column. A trap anywhere would end this test process. (Issue #10 saw 50 of 353 such
/// mutations give errors without a line.)
@Suite struct ConfigMutationTests {
    /// Values that have broken parsers: infinities, huge and negative numbers, wrong kinds, unset
    /// variables, quotes left open, addresses off loopback.
    static let hostile = [
        "inf", "nan", "1e300", "-1", "0", "99999999999999999999999GiB", "9223372036854775808", "", "~", "[]", "{}",
        "${UNSET_VARIABLE}", "${", "\"open", "0.0.0.0:8082", "no-such-profile", "[a, b", "*alias", "&a x", "1.5", "-0.0",
    ]

    struct Root {
        var runtime: String
        var profiles: [(name: String, text: String)]
    }

    static func shipped() throws -> Root {
        let root = TestEnvironment.repositoryRoot
        let runtime = try String(contentsOf: root.appendingPathComponent("runtime.yaml"), encoding: .utf8)
        let dir = root.appendingPathComponent("runtimes")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        let profiles = try names.map { name in
            (String(name.dropLast(5)), try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8))
        }
        return Root(runtime: runtime, profiles: profiles)
    }

    /// Mutations of one file's text: each line dropped, duplicated, cut in half, de-indented, its value
    /// replaced by each hostile value, its key misspelt; and the file cut off after each line.
    static func mutations(of text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var out: [String] = []
        func with(_ i: Int, _ replacement: [String]) -> String {
            (lines[..<i] + replacement + lines[(i + 1)...]).joined(separator: "\n")
        }
        for (i, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            out.append(with(i, []))
            out.append(with(i, [line, line]))
            out.append(with(i, [String(line.prefix(line.count / 2))]))
            out.append(with(i, [line.trimmingCharacters(in: .whitespaces)]))
            out.append(lines[...i].joined(separator: "\n"))
            if let colon = line.firstIndex(of: ":"), !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
                let key = line[..<colon]
                for value in hostile { out.append(with(i, ["\(key): \(value)"])) }
                out.append(with(i, [key + "x" + line[colon...]]))
            }
        }
        return out
    }

    /// Validates `root` with `file` (nil: runtime.yaml) replaced by `text`; returns a failure or nil.
    static func check(_ root: Root, replacing file: String?, with text: String) -> String? {
        var bundle = root
        if let file {
            bundle.profiles = root.profiles.map { $0.name == file ? ($0.name, text) : $0 }
        } else {
            bundle.runtime = text
        }
        let paths = RuntimePaths(configRoot: URL(fileURLWithPath: "/cfg"), stateDirectory: URL(fileURLWithPath: "/cfg/state"))
        let (config, diagnostics) = ConfigLoader.validate(
            runtimeText: bundle.runtime, profiles: bundle.profiles.map { ($0.name, "/cfg/runtimes/\($0.name).yaml", $0.text) },
            paths: paths, environment: ["HOME": "/home/test"])
        if let unlocated = diagnostics.first(where: { $0.line == nil || $0.column == nil }) {
            return "no line:column: \(unlocated)"
        }
        if !diagnostics.contains(where: { $0.severity == .error }) {
            let violations = ConfigLimits.violations(in: config)
            if !violations.isEmpty { return "loaded out of range: \(violations)" }
        }
        return nil
    }

    @Test func everyMutationLoadsOrIsLocated() throws {
        let root = try Self.shipped()
        var total = 0, passed = 0
        var failures: [String] = []
        let files: [(String?, String)] = [(nil, root.runtime)] + root.profiles.map { ($0.name, $0.text) }
        for (file, text) in files {
            for mutated in Self.mutations(of: text) {
                total += 1
                if let failure = Self.check(root, replacing: file, with: mutated) {
                    failures.append("\(file ?? "runtime.yaml"): \(failure)\n--- mutated text:\n\(mutated)")
                } else {
                    passed += 1
                }
            }
        }
        #expect(total > 1000, "only \(total) mutations were generated")
        #expect(failures.isEmpty, "\(failures.count) of \(total) mutations failed; first: \(failures.first ?? "")")
        #expect(passed == total)
    }
}
