import Foundation

/// Body of `POST /api/v1/vms`.
public struct CreateVMRequest: Codable, Sendable, Equatable {
  public var name: String
  public var image: String
  public var cpus: Int?
  public var memoryMiB: Int?
  public var disks: [DiskRequest]?
  public var nics: [NICRequest]?
  public var machine: MachineType?
  public var firmware: Firmware?
  public var osType: OSType?
  public var cpuModel: String?
  /// Extra kernel command line for kernel images.
  public var cmdline: String?
  /// Keep this VM on the same node as the other VMs of this group.
  public var affinityGroup: String?
  /// Keep this VM on a different node from the other VMs of this group.
  public var antiAffinityGroup: String?
  /// Create the VM on this node rather than where the scheduler would put it.
  public var node: String?
  /// Labels its node must carry.
  public var nodeSelector: [String: String]?
  /// The node for the secondary copies of disks on the replicated pool (default: chosen).
  public var replicaNode: String?
  /// High availability: restart on another node when this one fails.
  public var ha: HAPolicy?
  public var start: Bool?
  /// A USB tablet for the display's pointer (absolute, follows the browser's; default true).
  public var tablet: Bool?

  enum CodingKeys: String, CodingKey, CaseIterable {
    case name, image, cpus, memoryMiB, disks, nics, machine, firmware, osType, cpuModel, cmdline,
      affinityGroup, antiAffinityGroup, node, nodeSelector, replicaNode, ha, start, tablet
  }

  public init(
    name: String, image: String, cpus: Int? = nil, memoryMiB: Int? = nil,
    disks: [DiskRequest]? = nil, nics: [NICRequest]? = nil, machine: MachineType? = nil,
    firmware: Firmware? = nil, osType: OSType? = nil, cpuModel: String? = nil,
    cmdline: String? = nil, affinityGroup: String? = nil, antiAffinityGroup: String? = nil,
    node: String? = nil, nodeSelector: [String: String]? = nil, ha: HAPolicy? = nil,
    start: Bool? = nil, replicaNode: String? = nil, tablet: Bool? = nil
  ) {
    self.tablet = tablet
    self.replicaNode = replicaNode
    self.ha = ha
    self.node = node
    self.nodeSelector = nodeSelector
    self.affinityGroup = affinityGroup
    self.antiAffinityGroup = antiAffinityGroup
    self.name = name
    self.image = image
    self.cpus = cpus
    self.memoryMiB = memoryMiB
    self.disks = disks
    self.nics = nics
    self.machine = machine
    self.firmware = firmware
    self.osType = osType
    self.cpuModel = cpuModel
    self.cmdline = cmdline
    self.start = start
  }

  public init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decode(String.self, forKey: .name)
    image = try c.decode(String.self, forKey: .image)
    cpus = try c.decodeIfPresent(Int.self, forKey: .cpus)
    memoryMiB = try c.decodeIfPresent(Int.self, forKey: .memoryMiB)
    disks = try c.decodeIfPresent([DiskRequest].self, forKey: .disks)
    nics = try c.decodeIfPresent([NICRequest].self, forKey: .nics)
    machine = try c.decodeEnumIfPresent(MachineType.self, forKey: .machine)
    firmware = try c.decodeEnumIfPresent(Firmware.self, forKey: .firmware)
    osType = try c.decodeEnumIfPresent(OSType.self, forKey: .osType)
    cpuModel = try c.decodeIfPresent(String.self, forKey: .cpuModel)
    cmdline = try c.decodeIfPresent(String.self, forKey: .cmdline)
    affinityGroup = try c.decodeIfPresent(String.self, forKey: .affinityGroup)
    antiAffinityGroup = try c.decodeIfPresent(String.self, forKey: .antiAffinityGroup)
    node = try c.decodeIfPresent(String.self, forKey: .node)
    nodeSelector = try c.decodeIfPresent([String: String].self, forKey: .nodeSelector)
    replicaNode = try c.decodeIfPresent(String.self, forKey: .replicaNode)
    ha = try c.decodeIfPresent(HAPolicy.self, forKey: .ha)
    start = try c.decodeIfPresent(Bool.self, forKey: .start)
    tablet = try c.decodeIfPresent(Bool.self, forKey: .tablet)
  }

  /// Checks everything that does not need the store; names the first bad field.
  public func validate() throws {
    try Validators.name(name)
    try Validators.name(image, field: "image")
    if let cpus { try Validators.cpus(cpus) }
    if let memoryMiB { try Validators.memory(memoryMiB) }
    for (index, disk) in (disks ?? []).enumerated() { try disk.validate(field: "disks[\(index)]") }
    if (disks ?? []).count > 16 { throw KazeError.invalid("disks", "at most 16 disks") }
    for (index, nic) in (nics ?? []).enumerated() { try nic.validate(field: "nics[\(index)]") }
    if (nics ?? []).count > 8 { throw KazeError.invalid("nics", "at most 8 network cards") }
    if let cpuModel, cpuModel.isEmpty || cpuModel.contains(where: { $0 == " " || $0 == "," }) {
      throw KazeError.invalid("cpuModel", "'\(cpuModel)' is not a CPU model name")
    }
    if let cmdline { try Validators.kernelCommandLine(cmdline) }
    if let affinityGroup { try Validators.name(affinityGroup, field: "affinityGroup") }
    if let antiAffinityGroup { try Validators.name(antiAffinityGroup, field: "antiAffinityGroup") }
    if let node { try Validators.name(node, field: "node") }
    if let replicaNode {
      try Validators.name(replicaNode, field: "replicaNode")
      if replicaNode == node {
        throw KazeError.invalid(
          "replicaNode", "'\(replicaNode)' also runs the VM; the secondary copy needs another node")
      }
    }
    try ha?.validate()
    for (key, value) in nodeSelector ?? [:]
    where key.isEmpty || key.contains("=") || value.contains("=") {
      throw KazeError.invalid("nodeSelector", "'\(key)=\(value)' is not a KEY=VALUE label")
    }
  }
}

/// A disk to create: in `POST /api/v1/vms` (`disks`), `POST /api/v1/vms/{name}/disks` and
/// `…/disks/{disk}/resize`.
public struct DiskRequest: Codable, Sendable, Equatable {
  public var size: String
  public var pool: String?

  enum CodingKeys: String, CodingKey, CaseIterable { case size, pool }

  public init(size: String, pool: String? = nil) {
    self.size = size
    self.pool = pool
  }

  public init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    size = try c.decode(String.self, forKey: .size)
    pool = try c.decodeIfPresent(String.self, forKey: .pool)
  }

  public func validate(field: String) throws {
    _ = try Validators.size(size, field: "\(field).size")
    if let pool { try Validators.name(pool, field: "\(field).pool") }
  }
}

public struct NICRequest: Codable, Sendable, Equatable {
  /// `user` (no host set-up) or `bridge:NAME`.
  public var network: String
  public var mac: String?

  enum CodingKeys: String, CodingKey, CaseIterable { case network, mac }

  public init(network: String, mac: String? = nil) {
    self.network = network
    self.mac = mac
  }

  public init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    network = try c.decode(String.self, forKey: .network)
    mac = try c.decodeIfPresent(String.self, forKey: .mac)
  }

  public func validate(field: String) throws {
    _ = try kind(field: field)
    if let mac { try Validators.mac(mac, field: "\(field).mac") }
  }

  public func kind(field: String) throws -> NICSpec.Kind {
    if network == "user" { return .user }
    if network.hasPrefix("bridge:") {
      let bridge = String(network.dropFirst("bridge:".count))
      try Validators.interfaceName(bridge, field: "\(field).network")
      return .bridge(bridge)
    }
    throw KazeError.invalid(
      "\(field).network", "'\(network)' is not a network: use 'user' or 'bridge:NAME'")
  }
}

/// Body of `PATCH /api/v1/vms/{name}`: changes that take effect at the next start.
public struct UpdateVMRequest: Codable, Sendable, Equatable {
  public var cpus: Int?
  public var memoryMiB: Int?
  public var cmdline: String?
  /// A new HA policy (takes effect at once); `{"enabled": false}` turns HA off.
  public var ha: HAPolicy?

  enum CodingKeys: String, CodingKey, CaseIterable { case cpus, memoryMiB, cmdline, ha }

  public init(cpus: Int? = nil, memoryMiB: Int? = nil, cmdline: String? = nil, ha: HAPolicy? = nil)
  {
    self.cpus = cpus
    self.memoryMiB = memoryMiB
    self.cmdline = cmdline
    self.ha = ha
  }

  public init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    cpus = try c.decodeIfPresent(Int.self, forKey: .cpus)
    memoryMiB = try c.decodeIfPresent(Int.self, forKey: .memoryMiB)
    cmdline = try c.decodeIfPresent(String.self, forKey: .cmdline)
    ha = try c.decodeIfPresent(HAPolicy.self, forKey: .ha)
  }

  public func validate() throws {
    try ha?.validate()
    if let cpus { try Validators.cpus(cpus) }
    if let memoryMiB { try Validators.memory(memoryMiB) }
    if let cmdline { try Validators.kernelCommandLine(cmdline) }
  }
}

extension KeyedDecodingContainer {
  /// Decodes a string enum, naming the allowed values when the string is not one of them.
  func decodeEnumIfPresent<E: RawRepresentable & CaseIterable>(
    _ type: E.Type, forKey key: Key
  )
    throws -> E? where E.RawValue == String
  {
    guard let raw = try decodeIfPresent(String.self, forKey: key) else { return nil }
    guard let value = E(rawValue: raw) else {
      let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
      throw KazeError.invalid(key.stringValue, "'\(raw)' is not allowed; use one of: \(allowed)")
    }
    return value
  }
}
