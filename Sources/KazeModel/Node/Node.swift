import Foundation

/// A node as it registers itself: identity, capacity and what its hypervisor can do.
public struct Node: Codable, Sendable, Equatable {
  public var name: String
  /// The address the node's API listens on (host:port).
  public var address: String
  public var cpus: Int
  public var memoryMiB: Int
  public var accelerator: Accelerator
  /// Why that accelerator was chosen (e.g. "KVM probe timed out: nested KVM does not work").
  public var acceleratorReason: String
  public var qemuVersion: String
  /// The host CPU's model name (from /proc/cpuinfo): VMs with the `host` CPU model only
  /// live-migrate between nodes that share it.
  public var hostCPU: String?
  /// CPU models this node's QEMU offers (for checking a cluster CPU baseline).
  public var cpuModels: [String]?
  public var pools: [PoolInfo]
  /// The Linux bridges on the node, which `bridge:NAME` NICs can join (nil from a node that
  /// does not report them).
  public var bridges: [String]?
  public var labels: [String: String]
  public var maintenance: Bool
  public var startedAt: Date

  public init(
    name: String, address: String, cpus: Int, memoryMiB: Int, accelerator: Accelerator,
    acceleratorReason: String, qemuVersion: String, hostCPU: String? = nil, pools: [PoolInfo] = [],
    labels: [String: String] = [:], maintenance: Bool = false, startedAt: Date = Date()
  ) {
    self.name = name
    self.address = address
    self.cpus = cpus
    self.memoryMiB = memoryMiB
    self.accelerator = accelerator
    self.acceleratorReason = acceleratorReason
    self.qemuVersion = qemuVersion
    self.hostCPU = hostCPU
    self.pools = pools
    self.labels = labels
    self.maintenance = maintenance
    self.startedAt = startedAt
  }
}

public enum Accelerator: String, Codable, Sendable, CaseIterable { case kvm, tcg }

public struct PoolInfo: Codable, Sendable, Equatable {
  public var name: String
  public var kind: String
  public var path: String
  public var capacityBytes: Int64
  public var freeBytes: Int64

  public init(name: String, kind: String, path: String, capacityBytes: Int64, freeBytes: Int64) {
    self.name = name
    self.kind = kind
    self.path = path
    self.capacityBytes = capacityBytes
    self.freeBytes = freeBytes
  }
}

/// A node with its liveness and what is placed on it: what the API returns.
public struct NodeView: Codable, Sendable, Equatable {
  public var node: Node
  public var state: NodeState
  public var vmCount: Int
  public var allocatedCPUs: Int
  public var allocatedMemoryMiB: Int

  public init(
    node: Node, state: NodeState, vmCount: Int, allocatedCPUs: Int, allocatedMemoryMiB: Int
  ) {
    self.node = node
    self.state = state
    self.vmCount = vmCount
    self.allocatedCPUs = allocatedCPUs
    self.allocatedMemoryMiB = allocatedMemoryMiB
  }
}

public enum NodeState: String, Codable, Sendable { case online, offline, maintenance }
