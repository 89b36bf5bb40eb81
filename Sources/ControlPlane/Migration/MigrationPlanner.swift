import ClusterStore
import Foundation
import KazeModel
import Scheduler

/// Decides where a running VM can live-migrate and records the migration for the agents. Used
/// by the API (`kaze vm migrate`) and by the maintenance controller (evacuations).
public struct MigrationPlanner: Sendable {
  public let repository: Repository
  public let policy: PlacementPolicy

  public init(repository: Repository, policy: PlacementPolicy) {
    self.repository = repository
    self.policy = policy
  }

  /// Records a migration of `name` to `target` (or where the scheduler says). With `leader`,
  /// the write only happens while that node leads.
  public func start(
    _ name: String, to target: String?, downtimeLimitMs: Int = 30, bandwidthMiBps: Int = 0,
    leader: LeaderGuard? = nil, reason: String = "requested"
  ) async throws -> Migration {
    let vm = try await repository.requireVM(name)
    let status = try await repository.status(name)
    guard let sourceName = vm.node, status.phase == .running || status.phase == .paused,
      vm.desired != .stopped
    else {
      throw KazeError(
        .invalidState,
        "\(name) is \(status.phase.rawValue); only a running VM can be live-migrated",
        reason: "migration.not-running", values: ["vm": name, "phase": status.phase.rawValue])
    }
    if let current = try await repository.migration(name), current.isActive {
      throw KazeError(
        .conflict, "\(name) is already migrating to \(current.target) (\(current.state.rawValue))",
        reason: "migration.active", values: ["vm": name, "target": current.target])
    }
    let nodes = try await repository.nodes()
    guard let source = nodes.first(where: { $0.name == sourceName }) else {
      throw KazeError(.internalError, "\(name)'s node \(sourceName) is not registered")
    }
    let targetNode = try await chooseTarget(vm, to: target, source: source, nodes: nodes)
    if let incompatibility = MigrationCheck.incompatibility(
      of: vm, from: source, to: targetNode, runningModel: status.cpuModel)
    {
      throw KazeError(.invalidState, "cannot move \(name): \(incompatibility)")
    }
    var migration = Migration(
      vm: name, source: source.name, target: targetNode.name, downtimeLimitMs: downtimeLimitMs,
      bandwidthMiBps: bandwidthMiBps)
    let store = repository.store
    let key = StoreKeys.migration(name)
    let previous = try await store.get(key)
    let vmRevision = try await store.get(StoreKeys.vm(name))?.modRevision ?? 0
    var compares: [Compare] = [
      .modRevision(key, equals: previous?.modRevision ?? 0),
      .modRevision(StoreKeys.vm(name), equals: vmRevision),
    ]
    if let leader { compares.append(leader.compare) }
    var writes: [TxnOp] = []
    if Replication.isReplicated(vm), let record = try await store.get(StoreKeys.replication(name)) {
      var replication = try record.decodeJSON(Replication.self)
      compares.append(.modRevision(record.key, equals: record.modRevision))
      let reused = ReplicaPlanner.reusableCopies(
        of: vm, replication: replication, target: targetNode.name)
      if !reused.isEmpty {
        // The fast path: the target holds in-sync copies. Replication goes on until the
        // switch-over, and the target runs from those copies.
        migration.reusedCopies = reused
      } else {
        // The replicated disks travel like local ones; their replication pauses meanwhile (a
        // copy that is not in sync is never failed over to) and restarts from the new node.
        replication.secondary = nil
        replication.note = "replication paused: migrating to \(targetNode.name)"
        replication.restartCopies()
        writes.append(try .putJSON(record.key, replication))
      }
    }
    let result = try await store.txn(
      if: compares,
      then: writes + [
        try .putJSON(key, migration),
        try .putJSON(
          StoreKeys.task(migration.id),
          KazeTask(
            id: migration.id, kind: .migrate, vm: name, node: source.name,
            parameters: ["to": targetNode.name], state: .running,
            message: "preparing \(targetNode.name)")),
      ])
    guard result.succeeded else {
      throw KazeError(.conflict, "\(name) changed while the migration was being set up; try again")
    }
    try await repository.record(
      KazeEvent(
        kind: "migration.requested", vm: name, node: source.name,
        message: "live migration to \(targetNode.name) \(reason)"))
    return migration
  }

  private func chooseTarget(
    _ vm: VM, to name: String?, source: Node, nodes: [Node]
  ) async throws
    -> Node
  {
    let snapshot = ClusterSnapshot(
      nodes: nodes, alive: try await repository.aliveNodes(), vms: try await repository.vms())
    var placement = PlacementRequest(for: vm)
    placement.excludedNodes = [source.name]
    if let name {
      guard let entry = snapshot.nodes.first(where: { $0.node.name == name }) else {
        throw KazeError.invalid(
          "to", "no node named '\(name)'; nodes: \(nodes.map(\.name).joined(separator: ", "))")
      }
      if let reason = Placement.infeasibility(placement, on: entry, policy: policy) {
        throw KazeError(
          .insufficientResources, "cannot move \(vm.name) to \(name): \(name) \(reason)")
      }
      return entry.node
    }
    let decision = try Placement.place(placement, in: snapshot, policy: policy)
    guard let node = nodes.first(where: { $0.name == decision.node }) else {
      throw KazeError(.internalError, "the scheduler chose an unknown node")
    }
    return node
  }
}
