import ClusterStore
import Foundation
import KazeModel
import Scheduler
import Storage

/// What the API needs from the node it runs on. The store backend is chosen by the executable
/// and arrives here already opened, so the API works the same on SQLite and etcd.
public struct APIEnvironment: Sendable {
  public var repository: Repository
  public var nodeName: String
  public var imageLibrary: ImageLibrary
  /// Where the serial log of a VM that runs on this node is.
  public var consoleLogPath: @Sendable (VM) -> String
  public var policy: PlacementPolicy
  /// How long a request that waits for a task or a state change waits at most.
  public var waitTimeout: Duration

  public init(
    repository: Repository, nodeName: String, imageLibrary: ImageLibrary,
    consoleLogPath: @escaping @Sendable (VM) -> String, policy: PlacementPolicy = .init(),
    waitTimeout: Duration = .seconds(90)
  ) {
    self.repository = repository
    self.nodeName = nodeName
    self.imageLibrary = imageLibrary
    self.consoleLogPath = consoleLogPath
    self.policy = policy
    self.waitTimeout = waitTimeout
  }
}
