import Foundation

/// Work the API hands to the node agent that owns a VM (disk and snapshot operations), tracked
/// in the store so that the caller, the CLI and the web UI can follow it.
public struct KazeTask: Codable, Sendable, Equatable {
  public var id: String
  public var kind: TaskKind
  public var vm: String?
  public var node: String?
  public var parameters: [String: String]
  public var state: TaskState
  public var message: String?
  public var progress: Double?
  public var createdAt: Date
  public var finishedAt: Date?

  public init(
    id: String = KazeTask.newID(), kind: TaskKind, vm: String?, node: String?,
    parameters: [String: String] = [:], state: TaskState = .queued, message: String? = nil,
    progress: Double? = nil, createdAt: Date = Date(), finishedAt: Date? = nil
  ) {
    self.id = id
    self.kind = kind
    self.vm = vm
    self.node = node
    self.parameters = parameters
    self.state = state
    self.message = message
    self.progress = progress
    self.createdAt = createdAt
    self.finishedAt = finishedAt
  }

  /// Time-ordered ids so listing by key lists by age.
  public static func newID(now: Date = Date()) -> String {
    let millis = UInt64(now.timeIntervalSince1970 * 1000)
    let suffix = UUID().uuidString.prefix(8).lowercased()
    return String(format: "%013llu", millis) + "-" + suffix
  }
}

public enum TaskKind: String, Codable, Sendable, CaseIterable {
  case snapshotCreate = "snapshot-create"
  case snapshotRevert = "snapshot-revert"
  case snapshotDelete = "snapshot-delete"
  case diskResize = "disk-resize"
  case diskDelete = "disk-delete"
  case diskMove = "disk-move"
  case templateCreate = "template-create"
  case vmDelete = "vm-delete"
  case migrate = "migrate"
}

public enum TaskState: String, Codable, Sendable {
  case queued, running, succeeded, failed

  public var isFinished: Bool { self == .succeeded || self == .failed }
}
