import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

// Swift Concurrency runs on NIO's event loops, as in the daemon: no hop between thread pools per
// request. HERMES_RUNTIME_DISPATCH_POOL=1 keeps the default pool, to compare.
if getenv("HERMES_RUNTIME_DISPATCH_POOL") == nil {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}

func runBench() async {
    do {
        var command = try HermesBench.parseAsRoot()
        if var asyncCommand = command as? any AsyncParsableCommand {
            try await asyncCommand.run()
        } else {
            try command.run()
        }
    } catch {
        HermesBench.exit(withError: error)
    }
}
await runBench()
