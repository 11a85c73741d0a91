import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import HermesFront

/// The daemon's malloc settings can reach glibc: `mallopt` is found. The settings themselves are not
/// applied here (they are process-wide: this is the test runner's heap); the daemon applies them in
/// `Daemon.run`, and `HERMES_RUNTIME_MALLOC_DEFAULTS` turns that off.
@Suite struct HeapTuningTests {
    @Test func glibcHasMallopt() {
        #if canImport(Glibc)
        #expect(HeapTuning.lookUp() != nil)
        #else
        #expect(HeapTuning.lookUp() == nil)
        #endif
    }
}
