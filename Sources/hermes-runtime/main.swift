import HermesCLI
import NIOCore
import NIOPosix

// Swift Concurrency runs on NIO's event loops, where the front's sockets live: a forwarded request
// no longer hops between the concurrency pool and the event loops at every await (measured in
// docs/benchmarks.md, "Routing front"). Blocking work (spawning, the rocm_smi library) has its own
// threads. HERMES_RUNTIME_DISPATCH_POOL=1 keeps Swift's default pool.
if getenv("HERMES_RUNTIME_DISPATCH_POOL") == nil {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}
await HermesRuntimeMain.run()
