import Fencing
import Foundation
import KazeModel
import KazeTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The real `kaze-fence` executable, as kazed starts it.
@Suite("Fence guard process")
struct FenceGuardProcessTests {
  final class Guard {
    let directory: FenceDirectory
    let pid: pid_t

    init(_ directory: FenceDirectory) throws {
      self.directory = directory
      pid = try ProcessRunner.spawn(
        try BuiltExecutable.path("kaze-fence"), ["--dir", directory.path],
        stdout: directory.path + "/guard.log", stderr: directory.path + "/guard.log",
        appendOutput: true)
    }

    var log: String {
      (try? String(contentsOfFile: directory.path + "/guard.log", encoding: .utf8)) ?? ""
    }

    /// Kills the guard unless it has already exited (and been reaped: its pid may be reused).
    func stop() {
      guard ProcessRunner.wait(pid: pid, timeout: .zero) == nil else { return }
      kill(pid, SIGKILL)
      _ = ProcessRunner.wait(pid: pid, timeout: .seconds(5))
    }
  }

  func window(fenceIn: Duration, expireIn: Duration) -> LeaseWindow {
    let now = BootClock.now()
    return LeaseWindow(
      fenceAt: now + BootClock.nanoseconds(fenceIn),
      expiresAt: now + BootClock.nanoseconds(expireIn))
  }

  @Test("kills the HA guests once the window lapses, keeps others, and lets one guard run")
  func fencesWhenTheWindowLapses() async throws {
    let root = NSTemporaryDirectory() + "kaze-node-\(UUID().uuidString.prefix(8).lowercased())"
    let directory = FenceDirectory(path: root + "/run/fence")
    try FileManager.default.createDirectory(
      atPath: directory.path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let ha = try FakeGuestProcess(runDirectory: directory.runDirectory)
    let other = try FakeGuestProcess(runDirectory: directory.runDirectory)
    defer {
      ha.kill()
      other.kill()
    }
    try directory.publishHAVMs([ha.vmID])
    // kazed publishes the window before it starts the guard. Windows leave 4 s of slack, so a
    // test process starved by parallel tests still renews in time.
    try directory.publish(window(fenceIn: .seconds(4), expireIn: .seconds(5)))
    let fence = try Guard(directory)
    defer { fence.stop() }
    try await eventually("the guard holds its lock", timeout: .seconds(10)) {
      directory.guardPid() == fence.pid ? true : nil
    }
    // A renewed window keeps the guest alive past the first one's fencing instant.
    for _ in 0..<20 {
      try directory.publish(window(fenceIn: .seconds(4), expireIn: .seconds(5)))
      try await Task.sleep(for: .milliseconds(250))
    }
    #expect(ha.isAlive, "renewed in time: \(fence.log)")
    // A second guard for the same folder steps aside.
    let second = try Guard(directory)
    #expect(ProcessRunner.wait(pid: second.pid, timeout: .seconds(10)) == 0)
    #expect(fence.log.contains("another guard already watches"))
    // Renewals stop (kazed died or lost the store): the HA guest dies, the other does not.
    try await eventually("the HA guest is fenced", timeout: .seconds(20)) {
      ha.isAlive ? nil : true
    }
    #expect(other.isAlive)
    #expect(fence.log.contains("killed QEMU \(ha.pid) of VM \(ha.vmID)"), "\(fence.log)")
    #expect(ProcessRunner.wait(pid: fence.pid, timeout: .zero) == nil, "the guard keeps watching")
    // A copy that appears while the node is fenced is killed too.
    let late = try FakeGuestProcess(vmID: ha.vmID, runDirectory: directory.runDirectory)
    defer { late.kill() }
    try await eventually("a late copy is fenced", timeout: .seconds(10)) {
      late.isAlive ? nil : true
    }
    // The node's data folder is removed: the guard has nothing left to guard.
    try FileManager.default.removeItem(atPath: root)
    #expect(ProcessRunner.wait(pid: fence.pid, timeout: .seconds(10)) == 0, "the guard exits")
  }

  @Test("stops on SIGTERM, and rejects bad arguments with a usage line")
  func stopsAndValidates() async throws {
    let path = NSTemporaryDirectory() + "kaze-fence-\(UUID().uuidString.prefix(8).lowercased())"
    let directory = FenceDirectory(path: path)
    try directory.create()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let fence = try Guard(directory)
    try await eventually("the guard holds its lock", timeout: .seconds(10)) {
      directory.guardPid() == fence.pid ? true : nil
    }
    kill(fence.pid, SIGTERM)
    #expect(ProcessRunner.wait(pid: fence.pid, timeout: .seconds(10)) == 0)
    #expect(!directory.guardIsRunning())
    let bad = try ProcessRunner.run(
      try BuiltExecutable.path("kaze-fence"), ["--dir", path, "--frobnicate"], check: false)
    #expect(bad.status == 2)
    #expect(bad.stderr.contains("unknown argument --frobnicate"), "\(bad.stderr)")
    let badTimeout = try ProcessRunner.run(
      try BuiltExecutable.path("kaze-fence"), ["--dir", path, "--watchdog-timeout", "0"],
      check: false)
    #expect(badTimeout.stderr.contains("use 1 to 60 seconds"), "\(badTimeout.stderr)")
  }
}
