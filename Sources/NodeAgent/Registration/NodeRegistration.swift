import ClusterStore
import Foundation
import KazeModel
import Logging

/// Keeps this node registered: its record (capacity, accelerator, pools) and a liveness key
/// attached to a lease that is renewed every `renewInterval`. When the lease is lost (the store
/// expired it), a new one is granted and the liveness key written again.
public struct NodeRegistration: Sendable {
  public let store: any ClusterStore
  public let node: Node
  public let ttl: Duration
  public let logger: Logger
  /// Told when a renewal sent at the given instant succeeded (feeds the fencing watchdog).
  public let renewed: @Sendable (ContinuousClock.Instant) -> Void
  /// Told when the store says the lease is gone (before a new one is granted).
  public let lost: @Sendable () -> Void

  public init(
    store: any ClusterStore, node: Node, ttl: Duration, logger: Logger,
    renewed: @escaping @Sendable (ContinuousClock.Instant) -> Void = { _ in },
    lost: @escaping @Sendable () -> Void = {}
  ) {
    self.store = store
    self.node = node
    self.ttl = ttl
    self.logger = logger
    self.renewed = renewed
    self.lost = lost
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

  /// How often a renewal is sent: often enough that the last success is never far behind when
  /// the store pauses (an etcd leader election), so the fencing deadline is not reached needlessly.
  public var renewInterval: Duration { min(ttl / 6, .milliseconds(500)) }

  public func run() async {
    while !Task.isCancelled {
      do {
        let granted = ContinuousClock.now
        let lease = try await store.grantLease(ttl: ttl)
        try await store.put(StoreKeys.alive(node.name), Data(node.address.utf8), lease: lease)
        renewed(granted)
        try await renew(lease)
      } catch  where Task.isCancelled {
        return
      } catch let error as KazeError where error.code == .notFound {
        logger.warning("node lease: \(error); registering again")
        lost()
        try? await Task.sleep(for: .milliseconds(200))
      } catch {
        logger.warning("node lease: \(error); registering again")
        try? await Task.sleep(for: .milliseconds(200))
      }
    }
  }

  /// Sends a renewal every `renewInterval` without waiting for the ones still in flight: a member
  /// that hangs, or an election, holds up only the requests it got. Returns (throws) when the
  /// store says the lease is gone.
  private func renew(_ lease: LeaseID) async throws {
    let inFlight = InFlightCounter()
    try await withThrowingDiscardingTaskGroup { group in
      while true {
        try await Task.sleep(for: renewInterval)
        // The loop itself reports a lost lease: an error thrown by a child would cancel this
        // loop, and its CancellationError could win over the child's error.
        if inFlight.leaseLost {
          throw KazeError(.notFound, "the store no longer has this node's lease \(lease)")
        }
        guard inFlight.enter(limit: 16) else { continue }
        let sent = ContinuousClock.now
        group.addTask { [store, renewed, logger] in
          defer { inFlight.leave() }
          do {
            try await store.keepAlive(lease)
            renewed(sent)
          } catch let error as KazeError where error.code == .notFound {
            inFlight.leaseLost = true
          } catch {
            logger.debug("node lease renewal failed: \(error)")
          }
        }
      }
    }
  }
}

/// Counts the renewals in flight, and whether one found the lease gone.
private final class InFlightCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0
  private var lost = false

  var leaseLost: Bool {
    get { lock.withLock { lost } }
    set { lock.withLock { lost = newValue } }
  }

  func enter(limit: Int) -> Bool {
    lock.withLock {
      guard count < limit else { return false }
      count += 1
      return true
    }
  }

  func leave() { lock.withLock { count -= 1 } }
}
