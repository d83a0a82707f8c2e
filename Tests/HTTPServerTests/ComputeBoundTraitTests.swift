import Foundation
import Testing
import TestSupport

/// The test infrastructure the socket tests rely on: `.computeBound` tests run on the compute
/// executor's threads, never on the cooperative pool that the server's handlers need.
@Suite("Test infrastructure: compute-bound tests leave the cooperative pool free")
struct ComputeBoundTraitTests {

    static var onComputeThread: Bool { ComputeExecutor.shared.runsCurrentThread }

    @Test(.computeBound) func computeBoundTest_runsOnTheComputeExecutor() async throws {
        #expect(Self.onComputeThread)
        // And it comes back there after a suspension.
        try await Task.sleep(for: .milliseconds(1))
        #expect(Self.onComputeThread)
    }

    @Test(.computeBound, arguments: [1, 2])
    func computeBoundTest_withArguments_runsOnTheComputeExecutor(_ value: Int) {
        #expect(Self.onComputeThread, "case \(value)")
    }

    @Test func plainTest_staysOnTheCooperativePool() {
        #expect(!Self.onComputeThread)
    }
}
