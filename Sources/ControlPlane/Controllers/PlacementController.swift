import ClusterStore
import Foundation
import KazeModel
import Logging
import Scheduler

/// Assigns every VM without a node to one, using the pure scheduler. Each assignment is one
/// guarded transaction: it applies only if this node still leads and the VM did not change.
public struct PlacementController: Sendable {
  public let repository: Repository
  public let policy: PlacementPolicy
  public let logger: Logger

  public init(repository: Repository, policy: PlacementPolicy, logger: Logger) {
    self.repository = repository
    self.policy = policy
    self.logger = logger
  }

  public func reconcile(guard leader: LeaderGuard) async throws {
    let store = repository.store
    let (records, _) = try await store.list(prefix: StoreKeys.vms)
    let vms = try records.map { try $0.decodeJSON(VM.self) }
    let unplaced = zip(records, vms).filter { $0.1.node == nil }
    if unplaced.isEmpty { return }
    var snapshot = ClusterSnapshot(
      nodes: try await repository.nodes(), alive: try await repository.aliveNodes(), vms: vms)
    for (record, vm) in unplaced {
      let request = PlacementRequest(for: vm)
      do {
        let decision = try Placement.place(request, in: snapshot, policy: policy)
        var placed = vm
        placed.node = decision.node
        placed.epoch += 1
        let result = try await store.txn(
          if: [leader.compare, .modRevision(record.key, equals: record.modRevision)],
          then: try repository.assignment(placed))
        guard result.succeeded else { continue }
        snapshot.place(request, on: decision.node)
        try await repository.record(
          KazeEvent(
            kind: "vm.placed", vm: vm.name, node: decision.node,
            message: "placed on \(decision.node)"))
      } catch let error as KazeError where error.code == .insufficientResources {
        var status = try await repository.status(vm.name)
        if status.lastError != error.message {
          status.lastError = error.message
          status.updatedAt = Date()
          try await repository.putUnplacedStatus(vm.name, status)
          try await repository.record(
            KazeEvent(level: .warning, kind: "vm.unplaceable", vm: vm.name, message: error.message))
        }
      }
    }
  }
}
