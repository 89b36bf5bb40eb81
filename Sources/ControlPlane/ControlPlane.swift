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
    let watcher = Task {
      for await _ in store.changeSignals([
        StoreKeys.vms, StoreKeys.nodeAlive, StoreKeys.nodes, StoreKeys.maintenance,
        StoreKeys.migrations, StoreKeys.vmStatus,
      ]) {
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
    for await _ in changes.stream {
      if Task.isCancelled { break }
      do {
        try await recovery.reconcile(guard: leader)
      } catch {
        logger.warning("recovery: \(error)")
      }
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
