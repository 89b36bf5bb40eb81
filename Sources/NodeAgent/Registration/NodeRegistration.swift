import ClusterStore
import Foundation
import KazeModel
import Logging

/// Keeps this node registered: its record (capacity, accelerator, pools) and a liveness key
/// attached to a lease that is renewed every `ttl / 5`. When the lease is lost (the store
/// expired it), a new one is granted and the liveness key written again.
public struct NodeRegistration: Sendable {
  public let store: any ClusterStore
  public let node: Node
  public let ttl: Duration
  public let logger: Logger

  public init(store: any ClusterStore, node: Node, ttl: Duration, logger: Logger) {
    self.store = store
    self.node = node
    self.ttl = ttl
    self.logger = logger
  }

  /// Writes the node record once, keeping the maintenance flag an admin may have set.
  public func register() async throws {
    var record = node
    if let existing = try await store.getJSON(StoreKeys.node(node.name), as: Node.self) {
      record.maintenance = existing.maintenance
      record.labels = existing.labels.merging(node.labels) { _, new in new }
    }
    try await store.putJSON(StoreKeys.node(node.name), record)
  }

  public func run() async {
    while !Task.isCancelled {
      do {
        let lease = try await store.grantLease(ttl: ttl)
        try await store.put(StoreKeys.alive(node.name), Data(node.address.utf8), lease: lease)
        while !Task.isCancelled {
          try await Task.sleep(for: ttl / 5)
          try await store.keepAlive(lease)
        }
        try? await store.revokeLease(lease)
      } catch is CancellationError {
        return
      } catch {
        logger.warning("node lease: \(error); registering again")
        try? await Task.sleep(for: .milliseconds(200))
      }
    }
  }
}
