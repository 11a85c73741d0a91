import Foundation

/// Finds the llama-server binary a profile will run.
///
/// Order: an explicit override (`--llama-server PATH` or `$HERMES_RUNTIME_LLAMA_SERVER`, which wins over
/// every profile so the same profiles work where the build lives elsewhere), the profile's `binary` as a
/// path, `binary` (default `llama-server`) on `PATH`, then the known places: the build that
/// `scripts/setup.sh` caches, `/opt/llama.cpp*/bin`, `/usr/local/bin`.
public enum BinaryLocator {
    public struct NotFound: Error, Sendable, CustomStringConvertible {
        public var looked: [String]
        public var description: String {
            "llama-server not found (looked at: \(looked.joined(separator: ", "))). Set `binary:` in the profile, "
                + "HERMES_RUNTIME_LLAMA_SERVER, or run scripts/setup.sh to build one into the cache."
        }
    }

    public static func resolve(profileBinary: String?, override: String?, environment: [String: String]) throws -> String {
        let fm = FileManager.default
        let home = environment["HOME"] ?? NSHomeDirectory()
        var looked: [String] = []
        func executable(_ p: String) -> String? {
            looked.append(p)
            return fm.isExecutableFile(atPath: p) ? p : nil
        }
        let envOverride = environment["HERMES_RUNTIME_LLAMA_SERVER"].flatMap { $0.isEmpty ? nil : $0 }
        if let o = override ?? envOverride {
            let p = expandTilde(o, home: home)
            if let found = executable(p) { return found }
            throw NotFound(looked: looked)
        }
        let name = profileBinary.map { expandTilde($0, home: home) } ?? "llama-server"
        if name.contains("/") {
            if let found = executable(name) { return found }
            throw NotFound(looked: looked)
        }
        for dir in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            if let found = executable("\(dir)/\(name)") { return found }
        }
        let cache = environment["HERMES_RUNTIME_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.cache/hermes-runtime"
        var known: [String] = []
        for root in ["\(cache)/llama-server", "/opt"] {
            let entries = ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted().reversed()
            for e in entries where root != "/opt" || e.hasPrefix("llama") {
                known.append("\(root)/\(e)/bin/\(name)")
            }
        }
        known.append("/usr/local/bin/\(name)")
        for k in known { if let found = executable(k) { return found } }
        throw NotFound(looked: looked)
    }
}
