import CROCmSMI
import Foundation
import Testing
@testable import HermesGPU

@Suite("rocm_smi session in this process")
struct ROCmSMISessionTests {
    @Test("a probe on this host answers or fails with a message, within its time, and shuts down")
    func boundedProbe() async throws {
        let session = ROCmSMISession(timeout: .seconds(3))
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let sample = try await session.sample()
            // A host with an AMD GPU: every device has its pools read.
            #expect(sample.devices.allSatisfy { $0.vramTotal != nil })
        } catch {
            #expect(!error.message.isEmpty)
            #expect([.noDevice, .libraryInit, .timedOut].contains(error.code))
            // The library's stderr lines are kept, not shown.
            if error.code == .noDevice { #expect(error.libraryOutput?.contains("Failed to open drm root directory") == true) }
        }
        // Generous: the 3 s bound is the session's; this only catches a hang (a busy test runner may be
        // slow to resume this task). The CLI tests time the bound itself, in their own processes.
        #expect(clock.now - start < .seconds(30))
        await session.close()
        #expect(!session.isInitialized)
    }

    @Test("a closed session refuses new calls with a message")
    func closed() async {
        let session = ROCmSMISession()
        await session.close()
        await #expect(throws: GPUProbeError.self) { try await session.sample() }
        do {
            _ = try await session.sample()
        } catch {
            #expect(error.code == .closed)
        }
    }

    @Test("a call that overruns returns at its timeout; the next is refused while it is stuck, then works")
    func timeoutAndBusy() async throws {
        let session = ROCmSMISession(timeout: .milliseconds(200))
        // The "library call" blocks until the test opens the gate, so the checks below do not depend on
        // how fast a busy test runner schedules this task.
        let gate = DispatchSemaphore(value: 0)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await session.run("a stuck call") { () -> Result<Int, GPUProbeError> in
                gate.wait()
                return .success(1)
            }
            Issue.record("the call returned although its body is still blocked")
        } catch {
            #expect(error.code == .timedOut)
            #expect(error.message == "rocm_smi did not answer within 0.2 s (inside a stuck call)")
        }
        #expect(clock.now - start >= .milliseconds(200))
        #expect(session.isStuck)
        do {
            _ = try await session.run("another") { () -> Result<Int, GPUProbeError> in .success(2) }
            Issue.record("a second call started while the first was stuck")
        } catch {
            #expect(error.code == .busy)
            #expect(error.message.contains("still inside a stuck call"))
        }
        // Once the stuck call returns, the session works again.
        gate.signal()
        let deadline = clock.now + .seconds(30)
        while session.isStuck && clock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!session.isStuck)
        let value = try await session.run("a quick call") { () -> Result<Int, GPUProbeError> in .success(3) }
        #expect(value == 3)
    }

    @Test("status codes become names and the library's sentence")
    func statusText() {
        let text = ROCmSMIStatus.describe("rsmi_init", RSMI_STATUS_INIT_ERROR)
        #expect(text.hasPrefix("rsmi_init: RSMI_STATUS_INIT_ERROR (8): "))
        #expect(text.count > "rsmi_init: RSMI_STATUS_INIT_ERROR (8): ".count)
    }
}
