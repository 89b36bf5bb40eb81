import Fencing
import Foundation
import KazeTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Fence directory")
struct FenceDirectoryTests {
  func makeDirectory() throws -> FenceDirectory {
    let path = NSTemporaryDirectory() + "kaze-fence-\(UUID().uuidString.prefix(8).lowercased())"
    let directory = FenceDirectory(path: path)
    try directory.create()
    return directory
  }

  @Test("lease windows and HA VM ids round-trip; a cleared or garbled window reads as none")
  func roundTrip() throws {
    let directory = try makeDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory.path) }
    #expect(directory.lease() == nil)
    #expect(directory.haVMs().isEmpty)
    let window = LeaseWindow(fenceAt: 123_456_789_000, expiresAt: 123_999_999_000)
    try directory.publish(window)
    #expect(directory.lease() == window)
    try directory.publishHAVMs(["b", "a"])
    #expect(directory.haVMs() == ["a", "b"])
    try directory.publishHAVMs([])
    #expect(directory.haVMs().isEmpty)
    directory.clearLease()
    #expect(directory.lease() == nil)
    try "12 x\n".write(toFile: directory.leasePath, atomically: false, encoding: .utf8)
    #expect(directory.lease() == nil)
  }

  @Test("one guard at a time holds the lock, and its pid is readable")
  func guardLock() async throws {
    let directory = try makeDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory.path) }
    #expect(!directory.guardIsRunning())
    #expect(directory.guardPid() == nil)
    let fd = try #require(try directory.lockForGuard())
    #expect(directory.guardIsRunning())
    #expect(directory.guardPid() == getpid())
    #expect(try directory.lockForGuard() == nil, "a second guard must not start")
    close(fd)
    // A process that other tests spawn right now may hold a copy of the descriptor for the
    // instant between its fork and its exec.
    try await eventually("the lock goes with the guard", timeout: .seconds(5)) {
      directory.guardIsRunning() ? nil : true
    }
  }

  @Test("the boot clock moves forward and converts ContinuousClock instants")
  func bootClock() async throws {
    let before = BootClock.now()
    let instant = ContinuousClock.now
    try await Task.sleep(for: .milliseconds(50))
    let reading = BootClock.reading(of: instant)
    let after = BootClock.now()
    #expect(before <= reading + 5_000_000)
    #expect(after - reading >= 50_000_000)
    #expect(BootClock.nanoseconds(.milliseconds(1500)) == 1_500_000_000)
  }
}
