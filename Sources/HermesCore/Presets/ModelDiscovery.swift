import Foundation

/// Finds GGUF model files in the folders people usually keep them in.
public enum ModelDiscovery {
    /// A model file found on disk.
    public struct Found: Sendable, Equatable {
        public var path: String
        public var bytes: UInt64
        public init(path: String, bytes: UInt64) {
            self.path = path
            self.bytes = bytes
        }
    }

    /// `~/.models`, `~/models`, the setup cache's `models/` and `/opt/models`.
    public static func commonFolders(environment: [String: String]) -> [String] {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let cache = environment["HERMES_RUNTIME_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.cache/hermes-runtime"
        var seen = Set<String>()
        return ["\(home)/.models", "\(home)/models", "\(cache)/models", "/opt/models"].filter { seen.insert($0).inserted }
    }

    /// Every `.gguf` file under `folders` (up to `depth` levels down), largest first. Vision projectors
    /// (`mmproj-*`) and the later shards of a split model (`-00002-of-00003.gguf`) are not models to run.
    public static func find(in folders: [String], depth: Int = 3) -> [Found] {
        let fm = FileManager.default
        var out: [Found] = []
        func walk(_ dir: String, _ level: Int) {
            guard let names = try? fm.contentsOfDirectory(atPath: dir) else { return }
            for name in names.sorted() where !name.hasPrefix(".") {
                let path = "\(dir)/\(name)"
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: path, isDirectory: &isDir) else { continue }
                if isDir.boolValue {
                    if level < depth { walk(path, level + 1) }
                    continue
                }
                let lower = name.lowercased()
                guard lower.hasSuffix(".gguf"), !lower.hasPrefix("mmproj") else { continue }
                if let r = lower.range(of: #"-(\d{5})-of-\d{5}\.gguf$"#, options: .regularExpression),
                    !lower[r].hasPrefix("-00001-")
                {
                    continue
                }
                let size = ((try? fm.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.uint64Value ?? 0
                out.append(Found(path: path, bytes: size))
            }
        }
        for folder in folders { walk(folder, 1) }
        return out.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.path < $1.path }
    }

    /// `path` with the home directory written as `~`, as profiles write it.
    public static func abbreviatingHome(_ path: String, home: String) -> String {
        guard !home.isEmpty, home != "/" else { return path }
        if path == home { return "~" }
        if path.hasPrefix(home + "/") { return "~" + path.dropFirst(home.count) }
        return path
    }
}
