import ClusterStore
import Foundation
import KazeModel
import Logging
import Scheduler

/// Restarts the HA VMs of dead nodes on healthy ones. A node is dead once its liveness key (on
/// its lease) is gone; by then the node has fenced itself (its watchdog fires before the lease
/// can expire). Each VM is reassigned in one guarded transaction that bumps its ownership epoch,
/// highest priority first, within capacity, preferred nodes first, spread otherwise.
public actor RecoveryController {
  public let repository: Repository
  public let policy: PlacementPolicy
  public let logger: Logger
  /// Extra wait after a lease expired before acting (clock and scheduling slack).
  public let grace: Duration
  private var deadSince: [String: Date] = [:]
  private var reported: Set<String> = []

  public init(
    repository: Repository, policy: PlacementPolicy, logger: Logger,
    grace: Duration = .milliseconds(200)
  ) {
    self.repository = repository
    self.policy = policy
    self.logger = logger
    self.grace = grace
  }

  public func reconcile(guard leader: LeaderGuard) async throws {
    let nodes = try await repository.nodes()
    let alive = try await repository.aliveNodes()
    let dead = Set(nodes.map(\.name)).subtracting(alive)
    let now = Date()
    for node in dead where deadSince[node] == nil {
      deadSince[node] = now
      try await repository.record(
        KazeEvent(level: .warning, kind: "node.lost", node: node, message: "\(node) lost its lease")
      )
    }
    deadSince = deadSince.filter { dead.contains($0.key) }
    let ready = dead.filter { now.timeIntervalSince(deadSince[$0] ?? now) >= grace.seconds }
    let statuses = try await repository.statuses()
    // Nothing to do unless a node is ready to be given up on or a VM asks to move (the common,
    // idle case reads no VM list).
    if ready.isEmpty && !statuses.values.contains(where: { $0.needsRelocation == true }) { return }
    var vms = try await repository.vms()
    // HA VMs on dead nodes, and those a live node gave up on after a crash loop.
    let candidates = vms.filter { vm in
      guard vm.ha?.enabled == true, vm.desired != .stopped, let node = vm.node else { return false }
      let status = statuses[vm.name]
      return ready.contains(node) || (status?.needsRelocation == true && status?.node == node)
    }.sorted { ($0.ha?.priority ?? 0, $1.name) > ($1.ha?.priority ?? 0, $0.name) }
    guard !candidates.isEmpty else { return }
    var snapshot = ClusterSnapshot(nodes: nodes, alive: alive, vms: vms)
    for vm in candidates {
      guard let from = vm.node, let ha = vm.ha else { continue }
      do {
        if vm.haRelocations >= ha.maxRelocations {
          throw KazeError(.invalidState, "it was relocated \(vm.haRelocations) times (its limit)")
        }
        let localPools = Set(
          nodes.first { $0.name == from }?.pools.filter { $0.kind == "dir" }.map(\.name) ?? [])
        if let disk = vm.spec.disks.first(where: { localPools.contains($0.pool) }) {
          throw KazeError(.invalidState, "\(disk.name) is on \(from)'s local pool '\(disk.pool)'")
        }
        var request = PlacementRequest(for: vm)
        request.excludedNodes = [from]
        let target: String
        if Replication.isReplicated(vm) {
          // Only the node with the in-sync secondary copy may take it over (RPO 0).
          target = try ReplicaPlanner.failoverTarget(
            of: vm, replication: try await repository.replication(vm.name), alive: alive
          ).get()
          if let entry = snapshot.nodes.first(where: { $0.node.name == target }),
            let reason = Placement.infeasibility(request, on: entry, policy: policy)
          {
            throw KazeError(.insufficientResources, "\(target), which has its copy, \(reason)")
          }
        } else {
          target = try choose(request, preferred: ha.preferredNodes, in: snapshot)
        }
        try await reassign(
          vm, from: from, to: target, detectedAt: deadSince[from] ?? now, leader: leader)
        snapshot.place(request, on: target)
        if let index = vms.firstIndex(where: { $0.name == vm.name }) { vms[index].node = target }
        reported.remove(vm.name)
      } catch let error as KazeError where error.code != .conflict {
        guard !reported.contains(vm.name) else { continue }
        reported.insert(vm.name)
        try await repository.record(
          KazeEvent(
            level: .error, kind: "vm.recovery-blocked", vm: vm.name, node: from,
            message: "cannot restart \(vm.name) after \(from) failed: \(error.message)"))
      }
    }
  }

  private func choose(
    _ request: PlacementRequest, preferred: [String], in snapshot: ClusterSnapshot
  )
    throws -> String
  {
    for name in preferred {
      if let entry = snapshot.nodes.first(where: { $0.node.name == name }),
        Placement.infeasibility(request, on: entry, policy: policy) == nil
      {
        return name
      }
    }
    return try Placement.place(request, in: snapshot, policy: policy).node
  }

  private func reassign(
    _ vm: VM, from: String, to target: String, detectedAt: Date, leader: LeaderGuard
  ) async throws {
    try await Self.reassign(
      vm, from: from, to: target, detectedAt: detectedAt, repository: repository,
      conditions: [leader.compare], reason: "node failed or crash loop")
  }

  /// Moves a VM off a node it can no longer run on, in one transaction guarded by `conditions`,
  /// the VM record's revision and its owner key: a new epoch on `target`, and for replicated
  /// disks the role swap (the copies on `target` become the primary ones).
  public static func reassign(
    _ vm: VM, from: String, to target: String, detectedAt: Date, repository: Repository,
    conditions: [Compare], reason: String
  ) async throws {
    let store = repository.store
    guard let record = try await store.get(StoreKeys.vm(vm.name)) else { return }
    var moved = try record.decodeJSON(VM.self)
    guard moved.node == from else { return }
    let owner = VMOwner(node: from, epoch: moved.epoch)
    moved.node = target
    moved.epoch += 1
    moved.haRelocations += 1
    moved.recovery = RecoveryInfo(from: from, detectedAt: detectedAt)
    var guards =
      conditions + [
        .modRevision(record.key, equals: record.modRevision),
        try .jsonValue(StoreKeys.owner(vm.name), equals: owner),
      ]
    var writes =
      try repository.assignment(moved) + [
        try .putJSON(
          StoreKeys.status(vm.name),
          VMStatus(phase: .pending, node: target, lastError: "recovering: \(from) failed"))
      ]
    if Replication.isReplicated(vm),
      let replicationRecord = try await store.get(StoreKeys.replication(vm.name))
    {
      let replication = try replicationRecord.decodeJSON(Replication.self)
      guards.append(.modRevision(replicationRecord.key, equals: replicationRecord.modRevision))
      writes.append(
        try .putJSON(
          StoreKeys.replication(vm.name),
          ReplicaPlanner.swapped(replication, to: target, epoch: moved.epoch, at: Date())))
    }
    let result = try await store.txn(if: guards, then: writes)
    guard result.succeeded else { throw KazeError(.conflict, "\(vm.name) changed") }
    try await repository.record(
      KazeEvent(
        level: .warning, kind: "vm.recovering", vm: vm.name, node: target,
        message:
          "\(vm.name) leaves \(from) (\(reason)); restarting it on \(target) "
          + "(epoch \(moved.epoch))"))
  }
}
