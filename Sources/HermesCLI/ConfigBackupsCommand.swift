import ArgumentParser
import Foundation
import HermesCore

/// `hermes-runtime config backups`: the saved copies of this root's config, oldest first.
struct ConfigBackupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backups",
        abstract: "List the config backups (taken before every command that writes config)."
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let store = BackupStore(paths: global.paths())
        let backups = store.list()
        if global.json {
            struct Out: Encodable {
                var directory: String
                var keep: Int
                var backups: [BackupInfo]
            }
            printJSON(Out(directory: store.directory.path, keep: store.keep, backups: backups))
            return
        }
        guard !backups.isEmpty else {
            print("no backups in \(store.directory.path) (commands that write config make one first)")
            return
        }
        let time = DateFormatter()
        time.dateFormat = "yyyy-MM-dd HH:mm:ss"
        printTable(["ID", "TIME", "REASON", "FILES"], backups.reversed().map { b in
            let reason = b.detail.map { "\(b.reason): \($0)" } ?? b.reason
            return [b.id, time.string(from: b.createdAt), reason, "\(b.files.count): \(b.files.joined(separator: " "))"]
        })
        print("\(backups.count) of at most \(store.keep) kept in \(store.directory.path); "
              + "`hermes-runtime config restore ID [--routing-only]` restores one")
    }
}

/// Saves the root's config before a command changes it; nil (and nothing saved) when the root holds none.
func backUpBeforeWriting(_ paths: RuntimePaths, reason: String, detail: String? = nil) throws -> BackupInfo? {
    let store = BackupStore(paths: paths)
    let snapshot: ConfigSnapshot
    do {
        snapshot = try ConfigSnapshot.read(from: paths)
    } catch {
        throw CLIError("cannot read the current config to back it up", hint: "nothing was written", cause: "\(error)", code: "cannot_read")
    }
    guard !snapshot.isEmpty else { return nil }
    do {
        return try store.save(snapshot, reason: reason, detail: detail)
    } catch {
        throw CLIError("cannot write a backup in \(store.directory.path)", hint: "nothing was written", cause: "\(error)", code: "cannot_write")
    }
}
