import Foundation
import Hypervisor
import KazeModel
import Storage

/// Everything a node agent needs to know about its own node.
public struct NodeConfiguration: Sendable {
  public var name: String
  /// The API address other nodes and clients use to reach this node (host:port).
  public var address: String
  public var dataDirectory: String
  public var accelerator: AcceleratorProbe.Result
  public var pools: StoragePools
  public var leaseTTL: Duration
  /// How long an ACPI shutdown may take before the agent stops the VM hard.
  public var shutdownTimeout: Duration
  /// Backoff before restarting a VM whose QEMU died: doubles from `first` up to `max`.
  public var restartBackoff: (first: Duration, max: Duration)
  public var labels: [String: String]
  /// Whether this node fences its HA VMs when its lease lapses (off for one node on the embedded
  /// store, where nobody else could start them).
  public var selfFencing: Bool
  /// A Linux watchdog device the fence guard arms as a backstop, and its timeout in seconds.
  public var watchdogDevice: String?
  public var watchdogTimeout: Int

  public init(
    name: String, address: String, dataDirectory: String, accelerator: AcceleratorProbe.Result,
    pools: StoragePools, leaseTTL: Duration = .seconds(3), shutdownTimeout: Duration = .seconds(30),
    restartBackoff: (first: Duration, max: Duration) = (.seconds(1), .seconds(30)),
    labels: [String: String] = [:], selfFencing: Bool = true, watchdogDevice: String? = nil,
    watchdogTimeout: Int = 1
  ) {
    self.name = name
    self.address = address
    self.dataDirectory = dataDirectory
    self.accelerator = accelerator
    self.pools = pools
    self.leaseTTL = leaseTTL
    self.shutdownTimeout = shutdownTimeout
    self.restartBackoff = restartBackoff
    self.labels = labels
    self.selfFencing = selfFencing
    self.watchdogDevice = watchdogDevice
    self.watchdogTimeout = watchdogTimeout
  }

  /// Where kazed and the fence guard exchange the lease window and the HA VM ids.
  public var fenceDirectory: String { "\(dataDirectory)/run/fence" }

  /// Per-VM folder for QEMU's pidfile and sockets and the serial log (keyed by id: socket paths
  /// must stay under 108 bytes).
  public func runDirectory(for vm: VM) -> String {
    "\(dataDirectory)/run/\(vm.id.uuidString.lowercased())"
  }

  public func runFiles(for vm: VM) -> VMRunFiles { VMRunFiles(directory: runDirectory(for: vm)) }
}
