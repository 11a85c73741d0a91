import Foundation
import HermesCore
import HermesTestSupport
import Testing

@testable import HermesSupervisor

/// A server log on a full disk: lines are counted as lost, the tail for failure messages still
/// holds them, and nothing throws into the reader thread.
@Suite struct LogSinkFailureTests {
    @Test func linesThatCannotBeWrittenAreCountedAndStillInTheTail() throws {
        // /dev/full: every write fails with ENOSPC, as on a full disk.
        let sink = try LogSink(file: URL(fileURLWithPath: "/dev/full"), settings: LogSettings())
        sink.note("first")
        sink.note("second")
        #expect(sink.failures.dropped == 2)
        #expect(sink.lastLines(2) == ["[hermes-runtime] first", "[hermes-runtime] second"])
    }

    @Test func aWritableLogCountsNothing() throws {
        let file = try TestEnvironment.temporaryDirectory("sink").appendingPathComponent("p.log")
        let sink = try LogSink(file: file, settings: LogSettings())
        sink.note("hello")
        #expect(sink.failures.dropped == 0)
        #expect(try String(contentsOf: file, encoding: .utf8) == "[hermes-runtime] hello\n")
    }
}
