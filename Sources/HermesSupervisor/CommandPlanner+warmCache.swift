import Foundation
import HermesCore

extension CommandPlanner {
    /// The slot-save folder (made 0700) and `--swa-full` for a warm-cache profile, from its GGUF header.
    func warmLaunch(_ profile: Profile, _ settings: LlamaServerSettings) throws -> WarmCacheLaunch? {
        guard settings.warmCache == true, let root = kvDirectory, let model = settings.model else { return nil }
        let traits: WarmCacheModel
        do throws(GGUFError) {
            traits = WarmCacheModel(try GGUFReader.modelInfo(path: model))
        } catch {
            throw CommandBuildError(profile: profile.name, problems: ["warm_cache: cannot read the model's header: \(error.message)"])
        }
        if let why = traits.refusal { throw CommandBuildError(profile: profile.name, problems: ["warm_cache: \(why)"]) }
        let dir = root.appendingPathComponent(profile.name, isDirectory: true)
        try WarmFiles.makePrivateDirectory(dir)
        return WarmCacheLaunch(slotSavePath: dir.path + "/", swaFull: traits.slidingWindow)
    }
}

/// File effects for saved prompt caches: private folders and files, written whole or not at all.
enum WarmFiles {
    static func makePrivateDirectory(_ dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // An existing folder keeps its mode through createDirectory: set it.
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: dir.path)
    }

    /// Writes `data` to a temporary name beside `url`, 0600, then renames it over `url`.
    static func writeAtomically(_ data: Data, to url: URL) throws {
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".tmp-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: tmp.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown)
        }
        if rename(tmp.path, url.path) != 0 {
            try? FileManager.default.removeItem(at: tmp)
            throw CocoaError(.fileWriteUnknown)
        }
    }
}
