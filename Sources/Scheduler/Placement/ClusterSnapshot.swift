import KazeModel

/// An immutable picture of the cluster for the scheduler: nodes with their liveness, and what is
/// already placed on each. A simulated cluster is just a value of this type.
public struct ClusterSnapshot: Sendable, Equatable {
  public struct NodeEntry: Sendable, Equatable {
    public var node: Node
    public var online: Bool
    public var allocatedCPUs: Int
    public var allocatedMemoryMiB: Int
    public var vmCount: Int

    public init(
      node: Node, online: Bool, allocatedCPUs: Int = 0, allocatedMemoryMiB: Int = 0,
      vmCount: Int = 0
    ) {
      self.node = node
      self.online = online
      self.allocatedCPUs = allocatedCPUs
      self.allocatedMemoryMiB = allocatedMemoryMiB
      self.vmCount = vmCount
    }
  }

  public var nodes: [NodeEntry]

  public init(nodes: [NodeEntry]) {
    self.nodes = nodes
  }

  /// Builds the snapshot from nodes, which of them are alive, and every VM with its assignment.
  public init(nodes: [Node], alive: Set<String>, vms: [VM]) {
    var byNode: [String: (cpus: Int, memory: Int, count: Int)] = [:]
    for vm in vms {
      guard let node = vm.node else { continue }
      var entry = byNode[node, default: (0, 0, 0)]
      entry.cpus += vm.spec.cpus
      entry.memory += vm.spec.memoryMiB
      entry.count += 1
      byNode[node] = entry
    }
    self.nodes = nodes.map { node in
      let used = byNode[node.name, default: (0, 0, 0)]
      return NodeEntry(
        node: node, online: alive.contains(node.name), allocatedCPUs: used.cpus,
        allocatedMemoryMiB: used.memory, vmCount: used.count)
    }
  }
}

/// What to place: the resources a VM needs.
public struct PlacementRequest: Sendable, Equatable {
  public var vm: String
  public var cpus: Int
  public var memoryMiB: Int
  /// Storage pools the VM's disks live in; a node must have every one of them.
  public var pools: Set<String>
  /// Labels a node must carry (`KEY=VALUE`), e.g. a CPU generation or a rack.
  public var nodeSelector: [String: String]
  /// Nodes that must not be chosen (the source of a migration).
  public var excludedNodes: Set<String> = []

  public init(
    vm: String, cpus: Int, memoryMiB: Int, pools: Set<String> = [],
    nodeSelector: [String: String] = [:]
  ) {
    self.vm = vm
    self.cpus = cpus
    self.memoryMiB = memoryMiB
    self.pools = pools
    self.nodeSelector = nodeSelector
  }

  /// What a VM needs from its node.
  public init(for vm: VM) {
    self.init(
      vm: vm.name, cpus: vm.spec.cpus, memoryMiB: vm.spec.memoryMiB,
      pools: Set(vm.spec.disks.map(\.pool)))
  }
}

/// How much a node may be overcommitted: vCPUs per host CPU, and memory (1.0 = none).
public struct PlacementPolicy: Sendable, Equatable {
  public enum Strategy: String, Sendable { case spread, pack }

  public var cpuOvercommit: Double
  public var memoryOvercommit: Double
  public var strategy: Strategy
  /// Memory kept for the host itself on every node.
  public var reservedMemoryMiB: Int

  public init(
    cpuOvercommit: Double = 8.0, memoryOvercommit: Double = 1.0, strategy: Strategy = .spread,
    reservedMemoryMiB: Int = 512
  ) {
    self.cpuOvercommit = cpuOvercommit
    self.memoryOvercommit = memoryOvercommit
    self.strategy = strategy
    self.reservedMemoryMiB = reservedMemoryMiB
  }
}
