import Foundation

/// A node's maintenance: its VMs are moved away (live-migrated when running, reassigned when
/// stopped on shared storage), what cannot move is reported with the reason, and on exit the
/// moved VMs can be brought back.
public struct Maintenance: Codable, Sendable, Equatable {
  public var node: String
  public var state: MaintenanceState
  /// VMs moved away, and the node each went to.
  public var moved: [String: String]
  /// VMs that could not be moved, and why.
  public var blocked: [String: String]
  /// Live migrations that failed so far, per VM (retried a few times before giving up).
  public var failures: [String: Int]?
  public var startedAt: Date
  public var finishedAt: Date?

  public init(
    node: String, state: MaintenanceState = .evacuating, moved: [String: String] = [:],
    blocked: [String: String] = [:], startedAt: Date = Date(), finishedAt: Date? = nil
  ) {
    self.node = node
    self.state = state
    self.moved = moved
    self.blocked = blocked
    self.startedAt = startedAt
    self.finishedAt = finishedAt
  }
}

public enum MaintenanceState: String, Codable, Sendable {
  /// Moving the node's VMs away.
  case evacuating
  /// Nothing more will move; the node is in maintenance (see `blocked` for what stayed).
  case evacuated
  /// Maintenance ended; the VMs that were moved away are coming back.
  case returning
  /// Maintenance ended.
  case exited
}

/// Body of `POST /api/v1/nodes/{name}/maintenance/exit`.
public struct ExitMaintenanceRequest: Codable, Sendable, Equatable {
  /// Live-migrate the VMs that were moved away back to the node.
  public var moveBack: Bool?

  enum CodingKeys: String, CodingKey, CaseIterable { case moveBack }

  public init(moveBack: Bool? = nil) {
    self.moveBack = moveBack
  }

  public init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    moveBack = try c.decodeIfPresent(Bool.self, forKey: .moveBack)
  }
}
