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
  /// The run folder files (serial log, console sockets) of a VM that runs on this node.
  public var runFiles: @Sendable (VM) -> VMRunFiles
  public var policy: PlacementPolicy
  /// How long a request that waits for a task or a state change waits at most.
  public var waitTimeout: Duration
  /// The load samples this node keeps (nil: none, e.g. an API without a node agent).
  public var metrics: (any MetricsSource)?
  /// Console tickets and the shared serial connections of this node's kazed.
  let consoles = Consoles()

  public init(
    repository: Repository, nodeName: String, imageLibrary: ImageLibrary,
    runFiles: @escaping @Sendable (VM) -> VMRunFiles, policy: PlacementPolicy = .init(),
    waitTimeout: Duration = .seconds(90), metrics: (any MetricsSource)? = nil
  ) {
    self.metrics = metrics
    self.repository = repository
    self.nodeName = nodeName
    self.imageLibrary = imageLibrary
    self.runFiles = runFiles
    self.policy = policy
    self.waitTimeout = waitTimeout
  }
}

/// This node's console state, shared by the HTTP and websocket routers.
final class Consoles: Sendable {
  let tickets = ConsoleTickets()
  let serial = SerialConsoleHub()
}
