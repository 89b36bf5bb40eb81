import Fencing
import Foundation
import KazeTestSupport
import Testing

@Suite("Finding and killing guests by VM id")
struct GuestProcessesTests {
  let run = NSTemporaryDirectory() + "kaze-node-\(UUID().uuidString.prefix(8).lowercased())/run"

  @Test("finds this node's processes by the id after -uuid and kills only those")
  func findAndKill() async throws {
    let victim = try FakeGuestProcess(runDirectory: run)
    let bystander = try FakeGuestProcess(runDirectory: run)
    // The same VM run by another node on this machine (as in tests) is not this node's.
    let otherNode = try FakeGuestProcess(vmID: victim.vmID, runDirectory: run + "-other")
    defer {
      victim.kill()
      bystander.kill()
      otherNode.kill()
    }
    // The shell may have a forked child that has not exec'd `sleep` yet: it has the same
    // command line, and is found too (as QEMU's -daemonize parents are).
    let found = GuestProcesses.find([victim.vmID], runDirectory: run)
    #expect(found.map(\.pid).contains(victim.pid))
    #expect(found.allSatisfy { $0.vm == victim.vmID })
    #expect(GuestProcesses.find([], runDirectory: run).isEmpty)
    #expect(GuestProcesses.find([UUID().uuidString.lowercased()], runDirectory: run).isEmpty)
    let killed = GuestProcesses.kill([victim.vmID], runDirectory: run)
    #expect(killed.map(\.pid).contains(victim.pid))
    #expect(!killed.map(\.pid).contains(bystander.pid))
    try await eventually("the victim is gone", timeout: .seconds(5)) {
      victim.isAlive ? nil : true
    }
    #expect(bystander.isAlive)
    #expect(otherNode.isAlive)
  }

  @Test("a file that is not a watchdog device is refused, with the reason")
  func notAWatchdog() throws {
    let path = NSTemporaryDirectory() + "kaze-not-a-watchdog-\(UUID().uuidString.prefix(8))"
    #expect(FileManager.default.createFile(atPath: path, contents: nil))
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect {
      _ = try HardwareWatchdog(path: path, timeoutSeconds: 1)
    } throws: { error in
      "\(error)".contains("is not a watchdog device")
    }
    #expect(throws: FenceError.self) {
      _ = try HardwareWatchdog(path: path + "-missing", timeoutSeconds: 1)
    }
  }
}
