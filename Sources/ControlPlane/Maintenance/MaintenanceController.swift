import ClusterStore
import Foundation
import KazeModel
import Logging
import Scheduler

/// Empties nodes in maintenance and, on exit, brings their VMs back. Running VMs live-migrate
/// one at a time per node (gentle on a small cluster); stopped VMs on shared storage are simply
/// reassigned; anything that cannot move is recorded with the reason.
public struct MaintenanceController: Sendable {
  public let repository: Repository
  public let planner: MigrationPlanner
  public let policy: PlacementPolicy
  public let logger: Logger

  /// Failed live migrations of one VM before an evacuation gives up on it.
  static let attempts = 3

  public init(repository: Repository, policy: PlacementPolicy, logger: Logger) {
    self.repository = repository
    self.planner = MigrationPlanner(repository: repository, policy: policy)
    self.policy = policy
    self.logger = logger
  }

  public func reconcile(guard leader: LeaderGuard) async throws {
    for record in try await repository.maintenances() {
      switch record.state {
      case .evacuating: try await evacuate(record, leader: leader)
      case .returning: try await bringBack(record, leader: leader)
      case .evacuated, .exited: break
      }
    }
  }

  private func evacuate(_ record: Maintenance, leader: LeaderGuard) async throws {
    let node = record.node
    let vms = try await repository.vms().filter { $0.node == node }.sorted { $0.name < $1.name }
    let migrations = try await repository.migrations()
    var moved = record.moved
    var blocked = record.blocked
    var failures = record.failures ?? [:]
    var sending = migrations.filter { $0.isActive && $0.source == node }.count
    for vm in vms where blocked[vm.name] == nil {
      let last = migrations.first { $0.vm == vm.name }
      if last?.isActive == true { continue }
      if let last, last.state == .failed, last.createdAt >= record.startedAt,
        moved[vm.name] != nil
      {
        // The migration this evacuation started failed: try again, a few times.
        moved[vm.name] = nil
        failures[vm.name, default: 0] += 1
        if failures[vm.name, default: 0] >= Self.attempts {
          blocked[vm.name] =
            "live migration failed \(Self.attempts) times: \(last.error ?? "no reason given")"
          continue
        }
      }
      let status = try await repository.status(vm.name)
      let runs = vm.desired != .stopped && (status.phase == .running || status.phase == .paused)
      do {
        if runs {
          guard sending == 0 else { continue }
          let migration = try await planner.start(
            vm.name, to: nil, leader: leader, reason: "to evacuate \(node) for maintenance")
          moved[vm.name] = migration.target
          sending += 1
        } else if !status.phase.hasProcess && vm.desired == .stopped {
          moved[vm.name] = try await reassign(vm, excluding: node, leader: leader)
        }
      } catch let error as KazeError {
        // Lasting reasons (local disks, no room, incompatible CPU) are reported; a conflict or
        // an unreachable store is tried again next round.
        if [.invalidState, .insufficientResources, .invalidArgument].contains(error.code) {
          blocked[vm.name] = error.message
        } else {
          logger.info("evacuating \(vm.name) from \(node): \(error); trying again")
        }
      }
    }
    let remaining = vms.filter { blocked[$0.name] == nil }
    let done = remaining.isEmpty && sending == 0
    try await repository.updateMaintenance(node) {
      guard $0.state == .evacuating else { return }
      $0.moved = moved
      $0.blocked = blocked
      $0.failures = failures
      if done {
        $0.state = .evacuated
        $0.finishedAt = Date()
      }
    }
    if done {
      let stayed = blocked.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }
      try await repository.record(
        KazeEvent(
          level: stayed.isEmpty ? .info : .warning, kind: "node.evacuated", node: node,
          message: "\(node) is in maintenance: moved \(moved.count) VM(s)"
            + (stayed.isEmpty ? "" : "; could not move \(stayed.joined(separator: ", "))")))
    }
  }

  /// Gives a stopped VM whose disks are all on shared pools to another node.
  private func reassign(
    _ vm: VM, excluding node: String, leader: LeaderGuard
  ) async throws -> String {
    let nodes = try await repository.nodes()
    let localPools = Set(
      nodes.first { $0.name == node }?.pools.filter { $0.kind == "dir" }.map(\.name) ?? [])
    if let disk = vm.spec.disks.first(where: {
      localPools.contains($0.pool) || $0.pool == Replication.poolName
    }) {
      throw KazeError(.invalidState, "\(disk.name) is on \(node)'s local pool '\(disk.pool)'")
    }
    var request = PlacementRequest(for: vm)
    request.excludedNodes = [node]
    let snapshot = ClusterSnapshot(
      nodes: nodes, alive: try await repository.aliveNodes(), vms: try await repository.vms())
    let decision = try Placement.place(request, in: snapshot, policy: policy)
    try await assign(vm.name, to: decision.node, from: node, leader: leader)
    return decision.node
  }

  private func assign(
    _ name: String, to target: String, from node: String, leader: LeaderGuard
  )
    async throws
  {
    let store = repository.store
    guard let record = try await store.get(StoreKeys.vm(name)) else { return }
    var vm = try record.decodeJSON(VM.self)
    guard vm.node == node else { return }
    vm.node = target
    vm.epoch += 1
    let result = try await store.txn(
      if: [leader.compare, .modRevision(record.key, equals: record.modRevision)],
      then: try repository.assignment(vm))
    if result.succeeded {
      try await repository.record(
        KazeEvent(
          kind: "vm.reassigned", vm: name, node: target,
          message: "moved from \(node) to \(target) (stopped)"))
    }
  }

  private func bringBack(_ record: Maintenance, leader: LeaderGuard) async throws {
    let node = record.node
    let vms = try await repository.vms()
    let migrations = try await repository.migrations()
    var pending = 0
    var sending = migrations.filter { $0.isActive && $0.target == node }.count
    for name in record.moved.keys.sorted() {
      guard let vm = vms.first(where: { $0.name == name }), vm.node != node, let from = vm.node
      else { continue }
      if migrations.first(where: { $0.vm == name })?.isActive == true {
        pending += 1
        continue
      }
      let status = try await repository.status(name)
      do {
        if vm.desired != .stopped && (status.phase == .running || status.phase == .paused) {
          pending += 1
          guard sending == 0 else { continue }
          _ = try await planner.start(name, to: node, leader: leader, reason: "back to \(node)")
          sending += 1
        } else if vm.desired == .stopped && !status.phase.hasProcess {
          try await assign(name, to: node, from: from, leader: leader)
        }
      } catch {
        logger.warning("cannot bring \(name) back to \(node): \(error)")
      }
    }
    if pending == 0 {
      try await repository.updateMaintenance(node) {
        $0.state = .exited
        $0.finishedAt = Date()
      }
      try await repository.record(
        KazeEvent(
          kind: "node.returned", node: node, message: "the VMs moved away from \(node) are back"))
    }
  }
}
