import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import HermesFront

/// The front's malloc settings reach glibc (`mallopt` found and accepting both values), so a
/// body-sized block freed by one request is reused by the next instead of faulted in again.
@Suite struct HeapTuningTests {
    @Test func glibcAcceptsTheSettings() {
        #if canImport(Glibc)
        #expect(HeapTuning.keepFreedBlocks() == (getenv("HERMES_RUNTIME_MALLOC_DEFAULTS") == nil))
        #else
        #expect(!HeapTuning.keepFreedBlocks())
        #endif
    }
}
