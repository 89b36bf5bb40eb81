import Foundation
import Networking
import Testing

@Suite("Host bridges")
struct HostBridgesTests {
  @Test("interfaces with a bridge folder in sysfs are the bridges, sorted")
  func fromSysfs() throws {
    let root = NSTemporaryDirectory() + "kaze-sysfs-\(UUID().uuidString.prefix(8))"
    defer { try? FileManager.default.removeItem(atPath: root) }
    for path in ["vmbr1/bridge", "br0/bridge", "eth0/device", "lo", "kz0123n0/brport"] {
      try FileManager.default.createDirectory(
        atPath: "\(root)/\(path)", withIntermediateDirectories: true)
    }
    #expect(HostBridges.list(sysfs: root) == ["br0", "vmbr1"])
    #expect(HostBridges.list(sysfs: root + "/missing") == [])
  }
}
