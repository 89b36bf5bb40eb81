import Fencing
import Foundation
import KazeModel
import KazeTestSupport
import Logging
import NodeAgent
import Testing

@Suite("Self-fencing watchdog")
struct FencingWatchdogTests {
  func makeDirectory() throws -> FenceDirectory {
    let root = NSTemporaryDirectory() + "kaze-node-\(UUID().uuidString.prefix(8).lowercased())"
    let directory = FenceDirectory(path: root + "/run/fence")
    try FileManager.default.createDirectory(
      atPath: directory.path, withIntermediateDirectories: true)
    return directory
  }

  func remove(_ directory: FenceDirectory) {
    try? FileManager.default.removeItem(
      atPath: URL(fileURLWithPath: directory.runDirectory).deletingLastPathComponent().path)
  }

  /// A started watchdog (no guard executable: kazed's own thread is the one that fences) that
  /// protects `victim`, with `bystander` a guest it must leave alone; all cleaned up after `body`.
  func withWatchdog(
    ttl: Duration,
    _ body: (
      _ watchdog: FencingWatchdog, _ directory: FenceDirectory, _ victim: FakeGuestProcess,
      _ bystander: FakeGuestProcess
    ) async throws -> Void
  ) async throws {
    let directory = try makeDirectory()
    defer { remove(directory) }
    let victim = try FakeGuestProcess(runDirectory: directory.runDirectory)
    let bystander = try FakeGuestProcess(runDirectory: directory.runDirectory)
    defer {
      victim.kill()
      bystander.kill()
    }
    let watchdog = FencingWatchdog(
      ttl: ttl, directory: directory, guardExecutable: nil, logger: Logger(label: "test"))
    watchdog.protect([victim.vmID])
    watchdog.start()
    defer { watchdog.stop() }
    try await body(watchdog, directory, victim, bystander)
  }

  @Test("kills the protected HA guests once renewals stop, and never while they continue")
  func fences() async throws {
    try await withWatchdog(ttl: .seconds(2)) { watchdog, directory, victim, bystander in
      // Renewing keeps everything alive, and publishes the window and the ids for the guard.
      for _ in 0..<10 {
        watchdog.renewed(sentAt: .now)
        try await Task.sleep(for: .milliseconds(300))
      }
      #expect(victim.isAlive)
      #expect(!watchdog.isFenced)
      let window = try #require(directory.lease())
      #expect(
        window.expiresAt - window.fenceAt == BootClock.nanoseconds(.seconds(2) - watchdog.deadline))
      #expect(directory.haVMs() == [victim.vmID])
      // Renewals stop: the HA guest dies, the other one does not.
      try await eventually("the victim is fenced", timeout: .seconds(20)) {
        victim.isAlive ? nil : true
      }
      #expect(bystander.isAlive)
      #expect(watchdog.isFenced)
      // A new lease ends the fenced state.
      watchdog.renewed(sentAt: .now)
      #expect(!watchdog.isFenced)
    }
  }

  @Test("a lease the store dropped while renewals went through fences at once")
  func leaseLost() async throws {
    try await withWatchdog(ttl: .seconds(30)) { watchdog, _, victim, bystander in
      watchdog.renewed(sentAt: .now)
      // Far from the deadline (30 s TTL), the store says the lease is gone.
      watchdog.leaseLost()
      try await eventually("the victim is fenced", timeout: .seconds(20)) {
        victim.isAlive ? nil : true
      }
      #expect(bystander.isAlive)
      #expect(watchdog.isFenced)
      watchdog.renewed(sentAt: .now)
      #expect(!watchdog.isFenced)
      #expect(watchdog.takeEpisode()?.vmIDs == [victim.vmID])
    }
  }

  @Test("off for a node on the embedded store: nothing is published or killed")
  func off() async throws {
    let victim = try FakeGuestProcess(runDirectory: "/tmp/kaze-none/run")
    defer { victim.kill() }
    let watchdog = FencingWatchdog(
      ttl: .seconds(2), directory: nil, guardExecutable: nil, logger: Logger(label: "test"))
    watchdog.protect([victim.vmID])
    watchdog.start()
    defer { watchdog.stop() }
    watchdog.renewed(sentAt: .now - .seconds(10))
    try await Task.sleep(for: .milliseconds(500))
    #expect(victim.isAlive)
    #expect(!watchdog.isFenced)
  }

  @Test("the deadline leaves a margin before the lease TTL")
  func margin() {
    let watchdog = FencingWatchdog(
      ttl: .seconds(5), directory: nil, guardExecutable: nil, logger: Logger(label: "test"))
    #expect(watchdog.deadline < .seconds(5))
    #expect(watchdog.deadline >= .milliseconds(2500))
  }
}
