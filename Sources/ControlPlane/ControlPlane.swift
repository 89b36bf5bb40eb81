import ClusterStore
import Foundation
import KazeModel
import Logging
import Scheduler

/// The cluster's brain, active only on the elected leader: runs the controllers whenever the
/// store changes (and on a slow tick, to catch anything missed).
public struct ControlPlane: Sendable {
  public let repository: Repository
  public let election: LeaderElection
  public let placement: PlacementController
  public let maintenance: MaintenanceController
  public let recovery: RecoveryController
  public let replication: ReplicationController
  public let logger: Logger

  public init(
    store: any ClusterStore, nodeName: String, leaseTTL: Duration,
    policy: PlacementPolicy = .init(), logger: Logger
  ) {
    self.repository = Repository(store: store)
    self.election = LeaderElection(store: store, nodeName: nodeName, ttl: leaseTTL, logger: logger)
    self.placement = PlacementController(repository: repository, policy: policy, logger: logger)
    self.maintenance = MaintenanceController(repository: repository, policy: policy, logger: logger)
    self.recovery = RecoveryController(repository: repository, policy: policy, logger: logger)
    self.replication = ReplicationController(repository: repository, logger: logger)
    self.logger = logger
  }

  public func run() async {
    await election.run { leader in
      await lead(leader)
    }
  }

  private func lead(_ leader: LeaderGuard) async {
    let store = repository.store
    let changes = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    let changed = ChangeFlag()
    let watcher = Task {
      for await _ in store.changeSignals([
        StoreKeys.vms, StoreKeys.nodeAlive, StoreKeys.nodes, StoreKeys.maintenance,
        StoreKeys.migrations, StoreKeys.vmStatus,
      ]) {
        changed.set()
        changes.continuation.yield()
      }
    }
    defer { watcher.cancel() }
    let ticker = Task {
      var rounds = 0
      while !Task.isCancelled {
        try? await Task.sleep(for: .milliseconds(500))
        changes.continuation.yield()
        rounds += 1
        if rounds % 120 == 0 { try? await repository.trimHistory() }
      }
    }
    defer { ticker.cancel() }
    changes.continuation.yield()
    var rounds = 0
    for await _ in changes.stream {
      if Task.isCancelled { break }
      rounds += 1
      // Recovery runs on every tick (a dead node's grace period ends without any change); the
      // others when the store changed, or every 2 s to catch anything missed (an idle cluster
      // then reads its VM list four times less often).
      do {
        try await recovery.reconcile(guard: leader)
      } catch {
        logger.warning("recovery: \(error)")
      }
      guard changed.take() || rounds % 4 == 1 else { continue }
      do {
        try await placement.reconcile(guard: leader)
      } catch {
        logger.warning("placement: \(error)")
      }
      do {
        try await replication.reconcile(guard: leader)
      } catch {
        logger.warning("replication: \(error)")
      }
      do {
        try await maintenance.reconcile(guard: leader)
      } catch {
        logger.warning("maintenance: \(error)")
      }
    }
  }
}

/// Whether the store changed since the flag was last taken.
final class ChangeFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false

  func set() {
    lock.lock()
    value = true
    lock.unlock()
  }

  /// The flag's value, clearing it.
  func take() -> Bool {
    lock.lock()
    defer {
      value = false
      lock.unlock()
    }
    return value
  }
}
