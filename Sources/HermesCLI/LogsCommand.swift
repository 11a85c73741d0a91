import ArgumentParser
import Foundation
import HermesCore

/// `hermes-runtime logs PROFILE [-n N] [-f]`: the server's own stdout/stderr, as captured (rotated by size).
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Show a profile's server log.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile (or `daemon` for the daemon's own log).")
    var profile: String

    @Option(name: [.customShort("n"), .long], help: "Lines to show from the end.")
    var lines = 50

    @Flag(name: .shortAndLong, help: "Keep printing new lines as they come.")
    var follow = false

    func run() async throws {
        let paths = global.paths()
        let file = profile == "daemon" ? paths.daemonLog : paths.serverLog(profile)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw CLIError("no log for '\(profile)' at \(file.path)", hint: "a log appears once the profile has been started", code: "no_log")
        }
        let data = FileManager.default.contents(atPath: file.path) ?? Data()
        let text = String(decoding: data, as: UTF8.self)
        var all = text.split(separator: "\n", omittingEmptySubsequences: false)
        if all.last == "" { all.removeLast() }
        for line in all.suffix(lines) { print(line) }
        flushStandardOutput()
        guard follow else { return }
        var offset = UInt64(data.count)
        var inode = Self.inode(file.path)
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(200))
            // Rotation: the file was replaced or truncated; start from the new file's beginning.
            let nowInode = Self.inode(file.path)
            let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? UInt64) ?? 0
            if nowInode != inode || size < offset {
                inode = nowInode
                offset = 0
            }
            guard size > offset, let h = FileHandle(forReadingAtPath: file.path) else { continue }
            try h.seek(toOffset: offset)
            let chunk = h.readDataToEndOfFile()
            try? h.close()
            offset += UInt64(chunk.count)
            FileHandle.standardOutput.write(chunk)
        }
    }

    static func inode(_ path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_ino) : 0
    }
}
