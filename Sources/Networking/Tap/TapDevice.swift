import Foundation
import KazeModel

/// A tap device enslaved to an existing Linux bridge, created before QEMU starts and removed
/// after it exits. QEMU opens it by name (`-netdev tap,ifname=…,script=no`).
public struct TapDevice: Sendable, Equatable {
  public var name: String
  public var bridge: String

  public init(name: String, bridge: String) {
    self.name = name
    self.bridge = bridge
  }

  public static func bridgeExists(_ bridge: String) -> Bool {
    FileManager.default.fileExists(atPath: "/sys/class/net/\(bridge)/bridge")
  }

  /// Creates the tap (if missing) and attaches it to the bridge; idempotent.
  public func create() throws {
    guard Self.bridgeExists(bridge) else {
      throw KazeError(.notFound, "bridge \(bridge) does not exist on this node")
    }
    if !FileManager.default.fileExists(atPath: "/sys/class/net/\(name)") {
      try ProcessRunner.run("ip", ["tuntap", "add", "dev", name, "mode", "tap"])
    }
    try ProcessRunner.run("ip", ["link", "set", "dev", name, "master", bridge])
    try ProcessRunner.run("ip", ["link", "set", "dev", name, "up"])
  }

  public func delete() throws {
    guard FileManager.default.fileExists(atPath: "/sys/class/net/\(name)") else { return }
    try ProcessRunner.run("ip", ["link", "delete", "dev", name])
  }
}
