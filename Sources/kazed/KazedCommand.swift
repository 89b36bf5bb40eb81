import APIServer
import ArgumentParser
import ClusterStore
import ControlPlane
import Foundation
import Hypervisor
import KazeModel
import Logging
import NodeAgent
import ServiceLifecycle
import Storage

/// `kazed`: one Kaze node. Wires the store, the node agent, the control plane and the API
/// together; the logic lives in the libraries.
@main
struct KazedCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kazed", abstract: "Run a Kaze node: API, control plane and node agent.")

  @Option(help: "Folder for the store, disks, images and VM run files.")
  var dataDir: String?

  @Option(help: "The store: sqlite (embedded, one node; the default) or etcd://HOST:PORT[,…].")
  var store: String?

  @Option(help: "A folder every node mounts at the same path: the 'shared' storage pool.")
  var sharedPool: String?

  @Option(help: "A node label KEY=VALUE (repeat for more); placement can require labels.")
  var label: [String] = []

  @Option(help: "Address for the API and web UI (HOST:PORT).")
  var listen: String?

  @Option(help: "Optional JSON configuration file; command-line options win over it.")
  var config: String?

  @Option(help: "This node's name (default: the host name).")
  var nodeName: String?

  @Option(help: "Address other nodes and clients reach this node's API at (default: --listen).")
  var advertise: String?

  @Option(help: "Accelerator: auto (probe KVM by booting a kernel), kvm or tcg.")
  var accel: String?

  @Option(help: "Kernel to boot for the KVM probe (default: the host's /boot/vmlinuz-*).")
  var probeKernel: String?

  @Option(help: "Seconds of the node's store lease (default 3): how fast a dead node is noticed.")
  var leaseTtl: Int?

  @Option(help: "Seconds a guest has to power off after an ACPI shutdown before a hard stop.")
  var shutdownTimeout: Int?

  @Option(help: "vCPUs the scheduler may place per host CPU (default 8).")
  var cpuOvercommit: Double?

  @Option(help: "Memory the scheduler may place per MiB of host memory (default 1: none).")
  var memoryOvercommit: Double?

  @Option(
    help: """
      A Linux watchdog device (e.g. /dev/watchdog with the softdog module) the fence guard \
      arms as a backstop: the host resets if the guard cannot fence in time. Clusters only.
      """)
  var watchdogDevice: String?

  @Option(help: "Seconds of the watchdog device's timeout (default 1; at most half the lease TTL).")
  var watchdogTimeout: Int?

  @Option(help: "Log level: trace, debug, info, notice, warning, error.")
  var logLevel: String?

  func run() async throws {
    let settings = try Settings.resolve(command: self)
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = settings.logLevel
      return handler
    }
    var logger = Logger(label: "kazed")
    logger.logLevel = settings.logLevel
    let node = try await NodeBootstrap(settings: settings, logger: logger).start()
    try await node.run()
  }
}
