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
  /// Told when a renewal sent at the given instant succeeded (feeds the fencing watchdog).
  public let renewed: @Sendable (ContinuousClock.Instant) -> Void

  public init(
    store: any ClusterStore, node: Node, ttl: Duration, logger: Logger,
    renewed: @escaping @Sendable (ContinuousClock.Instant) -> Void = { _ in }
  ) {
    self.store = store
    self.node = node
    self.ttl = ttl
    self.logger = logger
    self.renewed = renewed
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
        let granted = ContinuousClock.now
        let lease = try await store.grantLease(ttl: ttl)
        try await store.put(StoreKeys.alive(node.name), Data(node.address.utf8), lease: lease)
        renewed(granted)
        while !Task.isCancelled {
          try await Task.sleep(for: ttl / 5)
          let sent = ContinuousClock.now
          try await store.keepAlive(lease)
          renewed(sent)
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
