import Foundation

/// How a VM is kept running when its node fails: restarted on a healthy node within seconds,
/// highest priority first, never on two nodes at once.
public struct HAPolicy: Codable, Sendable, Equatable {
  public var enabled: Bool
  /// Higher restarts first when capacity is short (0-1000).
  public var priority: Int
  /// Crash restarts on the same node before the VM is moved elsewhere.
  public var maxRestarts: Int
  /// How many times the VM may be relocated by HA before it is left stopped and reported.
  public var maxRelocations: Int
  /// Nodes to restart on first, in order (node affinity).
  public var preferredNodes: [String]

  public init(
    enabled: Bool = true, priority: Int = 100, maxRestarts: Int = 3, maxRelocations: Int = 3,
    preferredNodes: [String] = []
  ) {
    self.enabled = enabled
    self.priority = priority
    self.maxRestarts = maxRestarts
    self.maxRelocations = maxRelocations
    self.preferredNodes = preferredNodes
  }

  enum CodingKeys: String, CodingKey, CaseIterable {
    case enabled, priority, maxRestarts, maxRelocations, preferredNodes
  }

  /// Every field is optional in requests; unknown fields are refused.
  public init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let defaults = HAPolicy()
    enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? defaults.enabled
    priority = try c.decodeIfPresent(Int.self, forKey: .priority) ?? defaults.priority
    maxRestarts = try c.decodeIfPresent(Int.self, forKey: .maxRestarts) ?? defaults.maxRestarts
    maxRelocations =
      try c.decodeIfPresent(Int.self, forKey: .maxRelocations) ?? defaults.maxRelocations
    preferredNodes = try c.decodeIfPresent([String].self, forKey: .preferredNodes) ?? []
  }

  public func validate(field: String = "ha") throws {
    guard (0...1000).contains(priority) else {
      throw KazeError.invalid("\(field).priority", "\(priority) is not allowed; use 0 to 1000")
    }
    guard (0...100).contains(maxRestarts) else {
      throw KazeError.invalid("\(field).maxRestarts", "\(maxRestarts) is not allowed; use 0 to 100")
    }
    guard (0...100).contains(maxRelocations) else {
      throw KazeError.invalid(
        "\(field).maxRelocations", "\(maxRelocations) is not allowed; use 0 to 100")
    }
    for node in preferredNodes { try Validators.name(node, field: "\(field).preferredNodes") }
  }
}

/// Who may run a VM: the node, and the ownership epoch that recovery and migration bump. Kept
/// in its own key so that every status write can be compared against it: an agent whose epoch
/// is gone (a zombie node) can neither start the VM nor report on it.
public struct VMOwner: Codable, Sendable, Equatable {
  public var node: String
  public var epoch: Int

  public init(node: String, epoch: Int) {
    self.node = node
    self.epoch = epoch
  }
}
