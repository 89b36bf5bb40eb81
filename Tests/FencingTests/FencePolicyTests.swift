import Fencing
import Testing

@Suite("Fence policy")
struct FencePolicyTests {
  let window = LeaseWindow(fenceAt: 2_400, expiresAt: 3_000)

  @Test("fences from fenceAt on, and never without a window")
  func mustFence() {
    #expect(!FencePolicy.mustFence(now: 2_399, lease: window))
    #expect(FencePolicy.mustFence(now: 2_400, lease: window))
    #expect(FencePolicy.mustFence(now: 9_999, lease: window))
    #expect(!FencePolicy.mustFence(now: 9_999, lease: nil))
  }

  @Test("pets the hardware watchdog only while a reset would still beat the lease expiry")
  func mayPet() {
    let haRuns = { true }
    let nothingRuns = { false }
    #expect(
      FencePolicy.mayPet(now: 1_000, lease: window, watchdogTimeout: 1_000, haRunning: haRuns))
    #expect(
      !FencePolicy.mayPet(now: 2_000, lease: window, watchdogTimeout: 1_000, haRunning: haRuns))
    #expect(
      !FencePolicy.mayPet(now: 5_000, lease: window, watchdogTimeout: 1_000, haRunning: haRuns))
    #expect(!FencePolicy.mayPet(now: 0, lease: nil, watchdogTimeout: 1_000, haRunning: haRuns))
    // With no HA VM left running, a late or missing lease endangers nothing: keep petting.
    #expect(
      FencePolicy.mayPet(now: 5_000, lease: window, watchdogTimeout: 1_000, haRunning: nothingRuns))
    #expect(FencePolicy.mayPet(now: 0, lease: nil, watchdogTimeout: 1_000, haRunning: nothingRuns))
  }
}
