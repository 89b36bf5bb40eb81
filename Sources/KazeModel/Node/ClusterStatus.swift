import Foundation

/// What `kaze cluster status` shows: the store's members and quorum, the leader, the nodes.
public struct ClusterStatus: Codable, Sendable, Equatable {
  public var leader: String?
  public var nodes: [NodeSummary]
  public var store: StoreStatus
  public var config: ClusterConfig

  public init(leader: String?, nodes: [NodeSummary], store: StoreStatus, config: ClusterConfig) {
    self.leader = leader
    self.nodes = nodes
    self.store = store
    self.config = config
  }
}

/// Settings that hold for the whole cluster.
public struct ClusterConfig: Codable, Sendable, Equatable {
  /// The CPU model every VM that names none runs with (e.g. `Nehalem`, `qemu64`), so VMs can
  /// live-migrate between nodes with different host CPUs. Nil: each node's default (`host` on
  /// KVM, `qemu64` on TCG).
  public var cpuBaseline: String?

  enum CodingKeys: String, CodingKey, CaseIterable { case cpuBaseline }

  public init(cpuBaseline: String? = nil) {
    self.cpuBaseline = cpuBaseline
  }

  public init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    cpuBaseline = try c.decodeIfPresent(String.self, forKey: .cpuBaseline)
  }
}

public struct NodeSummary: Codable, Sendable, Equatable {
  public var name: String
  public var state: NodeState
  public var address: String

  public init(name: String, state: NodeState, address: String) {
    self.name = name
    self.state = state
    self.address = address
  }
}

/// The state store as its backend sees it.
public struct StoreStatus: Codable, Sendable, Equatable {
  /// `sqlite` or `etcd`.
  public var kind: String
  /// Whether a majority of members answers (always true for the embedded store).
  public var quorum: Bool
  public var members: [StoreMember]

  public init(kind: String, quorum: Bool, members: [StoreMember]) {
    self.kind = kind
    self.quorum = quorum
    self.members = members
  }
}

public struct StoreMember: Codable, Sendable, Equatable {
  public var name: String
  public var url: String
  public var healthy: Bool
  public var isLeader: Bool

  public init(name: String, url: String, healthy: Bool, isLeader: Bool) {
    self.name = name
    self.url = url
    self.healthy = healthy
    self.isLeader = isLeader
  }
}
