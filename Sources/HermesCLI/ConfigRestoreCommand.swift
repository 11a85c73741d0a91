import ArgumentParser
import Foundation
import HermesCore

/// `hermes-runtime config restore [ID] [--routing-only]`: puts a backup back, after backing up what it replaces.
struct ConfigRestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a config backup (the newest when no ID is given); the current config is backed up first.",
        discussion: """
            Full restore: runtime.yaml and runtimes/*.yaml become exactly the backup's files (profiles the backup \
            does not hold are removed). --routing-only: only front.routes, aliases, platforms, by_source and \
            default in runtime.yaml, and burst, fallback, context_over, queue_wait, output_reserve and cooldown \
            in each profile are taken from the backup; everything else stays. A result that does not validate \
            is rolled back.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup's ID (or a unique prefix), from `hermes-runtime config backups`.")
    var id: String?

    @Flag(name: .customLong("routing-only"), help: "Restore only the routing settings; leave everything else as it is.")
    var routingOnly = false

    func run() async throws {
        let paths = global.paths()
        let store = BackupStore(paths: paths)
        let result: RestoreResult
        do {
            result = try ConfigRestore.restore(id, routingOnly: routingOnly, store: store)
        } catch let e as BackupError {
            let ids = store.list().suffix(5).map(\.id)
            throw CLIError(e.message, hint: ids.isEmpty ? "commands that write config (init, import-hermes-profile) make backups"
                                                        : "recent backups: \(ids.reversed().joined(separator: ", ")) (`hermes-runtime config backups`)")
        } catch let e as RestoreFailure {
            throw CLIError(e.description, hint: e.rolledBack ? "nothing changed; fix the backup's problems or pick another backup"
                                                             : "nothing changed")
        }
        if global.json {
            struct Out: Encodable {
                var restored: String
                var undo: String
                var routingOnly: Bool
                var written: [String]
                var removed: [String]
                var rewritten: [String]
                var notes: [String]
                var warnings: [ConfigDiagnostic]
            }
            printJSON(Out(restored: result.restored.id, undo: result.undo.id, routingOnly: result.routingOnly,
                          written: result.changes.written, removed: result.changes.removed, rewritten: result.rewritten,
                          notes: result.notes, warnings: result.warnings))
            return
        }
        print("backed up the current config as \(result.undo.id) (pre-restore)")
        let what = result.routingOnly ? "the routing settings of" : "everything from"
        if result.changes.isEmpty {
            print("restored \(what) backup \(result.restored.id) (\(result.restored.reason)): the config already matched it, nothing changed")
        } else {
            print("restored \(what) backup \(result.restored.id) (\(result.restored.reason), \(result.restored.files.count) file(s)):")
            for f in result.changes.written { print("  wrote   \(f)") }
            for f in result.changes.removed { print("  removed \(f)") }
        }
        if !result.rewritten.isEmpty {
            print("note: rewritten from the parsed YAML, so their comments are gone: \(result.rewritten.joined(separator: ", ")) "
                  + "(the originals are in backup \(result.undo.id))")
        }
        for n in result.notes { print("note: \(n)") }
        for w in result.warnings { print(w.description) }
        print("undo: hermes-runtime config restore \(result.undo.id)")
        print("a running daemon keeps its current config until it is restarted or reloaded")
    }
}
