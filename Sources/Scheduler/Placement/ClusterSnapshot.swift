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
    /// VMs on this node by affinity group and by anti-affinity group.
    public var affinityMembers: [String: [String]] = [:]
    public var antiAffinityMembers: [String: [String]] = [:]

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

    /// Counts a placed VM against this node.
    public mutating func add(_ request: PlacementRequest) {
      allocatedCPUs += request.cpus
      allocatedMemoryMiB += request.memoryMiB
      vmCount += 1
      if let group = request.affinityGroup {
        affinityMembers[group, default: []].append(request.vm)
      }
      if let group = request.antiAffinityGroup {
        antiAffinityMembers[group, default: []].append(request.vm)
      }
    }
  }

  public var nodes: [NodeEntry]

  public init(nodes: [NodeEntry]) {
    self.nodes = nodes
  }

  /// Builds the snapshot from nodes, which of them are alive, and every VM with its assignment.
  public init(nodes: [Node], alive: Set<String>, vms: [VM]) {
    var entries = nodes.map { NodeEntry(node: $0, online: alive.contains($0.name)) }
    let index = Dictionary(
      entries.enumerated().map { ($0.element.node.name, $0.offset) },
      uniquingKeysWith: { a, _ in a })
    for vm in vms {
      guard let node = vm.node, let position = index[node] else { continue }
      entries[position].add(PlacementRequest(for: vm))
    }
    self.nodes = entries
  }

  /// Records a decision so the next placement in the same round sees it.
  public mutating func place(_ request: PlacementRequest, on node: String) {
    if let position = nodes.firstIndex(where: { $0.node.name == node }) {
      nodes[position].add(request)
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
  /// Linux bridges the VM's bridged NICs join; a node must have every one of them.
  public var bridges: Set<String> = []
  /// Nodes that must not be chosen (the source of a migration).
  public var excludedNodes: Set<String> = []
  public var affinityGroup: String?
  public var antiAffinityGroup: String?

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
    affinityGroup = vm.spec.affinityGroup
    antiAffinityGroup = vm.spec.antiAffinityGroup
    nodeSelector = vm.spec.nodeSelector ?? [:]
    bridges = Set(vm.spec.nics.compactMap(\.kind.bridgeName))
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
