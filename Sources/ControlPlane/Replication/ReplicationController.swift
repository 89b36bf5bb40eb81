import ClusterStore
import Foundation
import KazeModel
import Logging
import Scheduler

/// Gives every VM with disks on the replicated pool a replication record and a secondary node:
/// at first placement, after a failover (the old secondary is now the primary), and when the
/// secondary's node has been gone for `replaceAfter` while another node could take the copies
/// (the new one gets a full copy). Each write is guarded by leadership and the record's revision.
public actor ReplicationController {
  public let repository: Repository
  public let logger: Logger
  public let replaceAfter: Duration
  private var deadSince: [String: ContinuousClock.Instant] = [:]

  public init(repository: Repository, logger: Logger, replaceAfter: Duration = .seconds(60)) {
    self.repository = repository
    self.logger = logger
    self.replaceAfter = replaceAfter
  }

  public func reconcile(guard leader: LeaderGuard) async throws {
    let everyVM = try await repository.vms()
    let vms = everyVM.filter { Replication.isReplicated($0) && $0.node != nil }
    var existing: [String: Replication] = [:]
    var revisions: [String: Int64] = [:]
    for item in try await repository.store.list(prefix: StoreKeys.replications).items {
      let record = try item.decodeJSON(Replication.self)
      existing[record.vm] = record
      revisions[record.vm] = item.modRevision
    }
    // A VM whose last replicated disk moved to another pool has nothing left to replicate.
    for (name, record) in existing
    where everyVM.contains(where: { $0.name == name && !Replication.isReplicated($0) }) {
      let key = StoreKeys.replication(name)
      _ = try await repository.store.txn(
        if: [leader.compare, .modRevision(key, equals: revisions[name] ?? 0)],
        then: [.delete(key)])
      existing[name] = nil
      logger.info("\(record.vm) has no disk on the replicated pool any more: record removed")
    }
    guard !vms.isEmpty else { return }
    let nodes = try await repository.nodes()
    let alive = try await repository.aliveNodes()
    let now = ContinuousClock.now
    for node in nodes.map(\.name) where !alive.contains(node) && deadSince[node] == nil {
      deadSince[node] = now
    }
    deadSince = deadSince.filter { !alive.contains($0.key) }
    var all = existing
    let migrating = Set(try await repository.migrations().filter(\.isActive).map(\.vm))
    for vm in vms where !migrating.contains(vm.name) {
      guard let primary = vm.node else { continue }
      let current = existing[vm.name]
      var next = current ?? Replication(vm: vm.name, primary: primary, epoch: vm.epoch)
      if next.primary != primary || next.epoch != vm.epoch {
        // The VM was given to a node at a new epoch without a failover swap: the copies on the
        // new node are the primary now; the secondary must be copied afresh.
        next.previousPrimary = next.primary == primary ? next.previousPrimary : next.primary
        next.primary = primary
        next.epoch = vm.epoch
        if next.secondary == primary { next.secondary = nil }
        next.restartCopies()
      }
      // One entry per replicated disk of the spec (disks come and go while the VM is stopped).
      let disks = Replication.disks(of: vm)
      next.disks = next.disks.filter { entry in disks.contains { $0.name == entry.key } }
      for disk in disks {
        if next.disks[disk.name] == nil {
          next.disks[disk.name] = DiskReplica(state: .degraded, totalBytes: disk.sizeBytes)
        }
      }
      if let secondary = next.secondary, shouldReplace(secondary, primary: primary, nodes: nodes) {
        if let other = ReplicaPlanner.secondary(
          for: vm, primary: primary, nodes: nodes.filter { $0.name != secondary }, alive: alive,
          replications: all), other != secondary
        {
          next.secondary = nil
        }
      }
      if next.secondary == nil {
        next.secondary = ReplicaPlanner.secondary(
          for: vm, primary: primary, nodes: nodes, alive: alive, replications: all)
        if next.secondary != nil { next.restartCopies() }
        next.note = next.secondary == nil ? ReplicaPlanner.noSecondaryReason : nil
      }
      guard next != current else { continue }
      let conditions: [Compare] = [
        leader.compare,
        .modRevision(StoreKeys.replication(vm.name), equals: revisions[vm.name] ?? 0),
        try .jsonValue(StoreKeys.owner(vm.name), equals: VMOwner(node: primary, epoch: vm.epoch)),
      ]
      let result = try await repository.store.txn(
        if: conditions, then: [try .putJSON(StoreKeys.replication(vm.name), next)])
      guard result.succeeded else { continue }
      all[vm.name] = next
      if next.secondary != current?.secondary, let secondary = next.secondary {
        try await repository.record(
          KazeEvent(
            kind: "replication.secondary-chosen", vm: vm.name, node: secondary,
            message:
              "\(vm.name)'s replicated disks get their secondary copy on \(secondary) (primary \(primary))"
          ))
      } else if next.secondary == nil && current?.note != next.note {
        try await repository.record(
          KazeEvent(
            level: .warning, kind: "replication.no-secondary", vm: vm.name, node: primary,
            message: "\(vm.name) runs without a second copy: \(ReplicaPlanner.noSecondaryReason)"))
      }
    }
  }

  private func shouldReplace(_ secondary: String, primary: String, nodes: [Node]) -> Bool {
    if secondary == primary { return true }
    guard nodes.contains(where: { $0.name == secondary }) else { return true }
    guard let since = deadSince[secondary] else { return false }
    return ContinuousClock.now - since >= replaceAfter
  }
}
