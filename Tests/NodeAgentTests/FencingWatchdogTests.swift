import Foundation
import KazeModel
import Logging
import NodeAgent
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Self-fencing watchdog")
struct FencingWatchdogTests {
  func spawnSleeper() throws -> pid_t {
    try ProcessRunner.spawn("/bin/sleep", ["60"], stdout: "/dev/null", stderr: "/dev/null")
  }

  func alive(_ pid: pid_t) -> Bool { ProcessRunner.wait(pid: pid, timeout: .zero) == nil }

  @Test("kills the tracked HA processes once renewals stop, and never while they continue")
  func fences() async throws {
    let victim = try spawnSleeper()
    let bystander = try spawnSleeper()
    defer {
      kill(victim, SIGKILL)
      kill(bystander, SIGKILL)
      _ = ProcessRunner.wait(pid: victim, timeout: .seconds(1))
      _ = ProcessRunner.wait(pid: bystander, timeout: .seconds(1))
    }
    let watchdog = FencingWatchdog(ttl: .seconds(2), logger: Logger(label: "test"))
    watchdog.track(["ha-vm": victim])
    watchdog.start()
    defer { watchdog.stop() }
    // Renewing keeps everything alive.
    for _ in 0..<10 {
      watchdog.renewed(sentAt: .now)
      try await Task.sleep(for: .milliseconds(300))
    }
    #expect(alive(victim))
    #expect(!watchdog.isFenced)
    // Renewals stop: the HA process dies, the other one does not.
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(20)
    while alive(victim) && clock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
    #expect(!alive(victim))
    #expect(alive(bystander))
    #expect(watchdog.isFenced)
    // A new lease ends the fenced state.
    watchdog.renewed(sentAt: .now)
    #expect(!watchdog.isFenced)
  }

  @Test("the deadline leaves a margin before the lease TTL")
  func margin() {
    let watchdog = FencingWatchdog(ttl: .seconds(5), logger: Logger(label: "test"))
    #expect(watchdog.deadline < .seconds(5))
    #expect(watchdog.deadline >= .milliseconds(2500))
  }
}
