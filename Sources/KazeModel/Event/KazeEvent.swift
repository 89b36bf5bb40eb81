import Foundation

/// One line of the event log: what happened to which VM or node, and when.
public struct KazeEvent: Codable, Sendable, Equatable {
  public var id: String
  public var time: Date
  public var level: Level
  public var kind: String
  public var vm: String?
  public var node: String?
  public var message: String

  public enum Level: String, Codable, Sendable { case info, warning, error }

  public init(
    id: String = KazeTask.newID(), time: Date = Date(), level: Level = .info, kind: String,
    vm: String? = nil, node: String? = nil, message: String
  ) {
    self.id = id
    self.time = time
    self.level = level
    self.kind = kind
    self.vm = vm
    self.node = node
    self.message = message
  }
}
