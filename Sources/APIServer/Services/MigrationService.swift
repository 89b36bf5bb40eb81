import ClusterStore
import Foundation
import KazeModel
import Scheduler

/// Checks a live migration request against the cluster and records it for the agents.
struct MigrationService: Sendable {
  let environment: APIEnvironment
  var repository: Repository { environment.repository }

  func start(_ name: String, _ request: MigrateRequest) async throws -> Migration {
    try request.validate()
    let vm = try await repository.requireVM(name)
    let status = try await repository.status(name)
    guard let sourceName = vm.node, status.phase == .running || status.phase == .paused,
      vm.desired != .stopped
    else {
      throw KazeError(
        .invalidState, "\(name) is \(status.phase.rawValue); only a running VM can be live-migrated"
      )
    }
    if let current = try await repository.migration(name), current.isActive {
      throw KazeError(
        .conflict, "\(name) is already migrating to \(current.target) (\(current.state.rawValue))")
    }
    let nodes = try await repository.nodes()
    guard let source = nodes.first(where: { $0.name == sourceName }) else {
      throw KazeError(.internalError, "\(name)'s node \(sourceName) is not registered")
    }
    let target = try await chooseTarget(vm, request: request, source: source, nodes: nodes)
    if let reason = MigrationCheck.incompatibility(of: vm, from: source, to: target) {
      throw KazeError(.invalidState, "cannot move \(name): \(reason)")
    }
    let migration = Migration(
      vm: name, source: source.name, target: target.name,
      downtimeLimitMs: request.downtimeLimitMs ?? 30, bandwidthMiBps: request.bandwidthMiBps ?? 0)
    let key = StoreKeys.migration(name)
    let previous = try await repository.store.get(key)
    let result = try await repository.store.txn(
      if: [
        .modRevision(key, equals: previous?.modRevision ?? 0),
        .modRevision(
          StoreKeys.vm(name),
          equals: try await repository.store.get(StoreKeys.vm(name))?.modRevision ?? 0),
      ],
      then: [
        try .putJSON(key, migration),
        try .putJSON(
          StoreKeys.task(migration.id),
          KazeTask(
            id: migration.id, kind: .migrate, vm: name, node: source.name,
            parameters: ["to": target.name], state: .running, message: "preparing \(target.name)")),
      ])
    guard result.succeeded else {
      throw KazeError(.conflict, "\(name) changed while the migration was being set up; try again")
    }
    try await repository.record(
      KazeEvent(
        kind: "migration.requested", vm: name, node: source.name,
        message: "live migration to \(target.name) requested"))
    return migration
  }

  private func chooseTarget(
    _ vm: VM, request: MigrateRequest, source: Node, nodes: [Node]
  )
    async throws -> Node
  {
    let snapshot = ClusterSnapshot(
      nodes: nodes, alive: try await repository.aliveNodes(), vms: try await repository.vms())
    var placement = PlacementRequest(for: vm)
    placement.excludedNodes = [source.name]
    if let name = request.to {
      guard let entry = snapshot.nodes.first(where: { $0.node.name == name }) else {
        throw KazeError.invalid(
          "to", "no node named '\(name)'; nodes: \(nodes.map(\.name).joined(separator: ", "))")
      }
      if let reason = Placement.infeasibility(placement, on: entry, policy: environment.policy) {
        throw KazeError(
          .insufficientResources, "cannot move \(vm.name) to \(name): \(name) \(reason)")
      }
      return entry.node
    }
    let decision = try Placement.place(placement, in: snapshot, policy: environment.policy)
    guard let node = nodes.first(where: { $0.name == decision.node }) else {
      throw KazeError(.internalError, "the scheduler chose an unknown node")
    }
    return node
  }

  /// Waits until the migration ends; a failure becomes the error.
  func wait(_ name: String, id: String) async throws -> Migration {
    let repository = self.repository
    let done = try await Waiting.until(
      timeout: environment.waitTimeout, what: "the migration of \(name)"
    ) {
      let migration = try await repository.migration(name)
      guard let migration, migration.id == id else {
        throw KazeError(.conflict, "the migration of \(name) was replaced")
      }
      return migration.isActive ? nil : migration
    }
    if done.state == .failed {
      throw KazeError(
        .internalError, "the migration of \(name) failed: \(done.error ?? "no reason")")
    }
    return done
  }
}
