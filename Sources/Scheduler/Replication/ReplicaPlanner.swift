import Foundation
import KazeModel

/// Pure decisions about replicated disks: where the secondary copies go, and where a VM may
/// restart when its primary node is lost. No I/O.
public enum ReplicaPlanner {
  /// The node for a VM's secondary copies: online, not in maintenance, with the replicated pool,
  /// never the primary; the admin's choice (`VMSpec.replicaNode`) when it qualifies, otherwise
  /// the node holding the fewest secondaries (then by name). Nil when no node qualifies.
  public static func secondary(
    for vm: VM, primary: String, nodes: [Node], alive: Set<String>,
    replications: [String: Replication]
  ) -> String? {
    let candidates = nodes.filter { node in
      node.name != primary && alive.contains(node.name) && !node.maintenance
        && node.pools.contains { $0.name == Replication.poolName }
    }.map(\.name)
    if let wanted = vm.spec.replicaNode, candidates.contains(wanted) { return wanted }
    let load = Dictionary(
      replications.values.compactMap { $0.vm == vm.name ? nil : $0.secondary }.map { ($0, 1) },
      uniquingKeysWith: +)
    return candidates.min { (load[$0] ?? 0, $0) < (load[$1] ?? 0, $1) }
  }

  /// Why no node can take a VM's secondary copies (for the record's note).
  public static let noSecondaryReason =
    "no other online node with the replicated pool can hold the secondary copy"

  /// Where a VM whose primary node is lost may start again: the node with its secondary copies,
  /// if it is online and every copy there holds every acknowledged write. Otherwise the reason
  /// it must not start by itself; with `acceptDataLoss` (an admin's decision) a secondary copy
  /// that is behind is used anyway.
  public static func failoverTarget(
    of vm: VM, replication: Replication?, alive: Set<String>, acceptDataLoss: Bool = false
  ) -> Result<String, KazeError> {
    guard let replication, replication.epoch == vm.epoch, let secondary = replication.secondary
    else {
      return .failure(
        KazeError(
          .invalidState,
          "its replicated disks have no secondary copy on another node; only \(vm.node ?? "its node") has them"
        ))
    }
    guard alive.contains(secondary) else {
      return .failure(
        KazeError(.invalidState, "\(secondary), which holds its secondary copy, is offline too"))
    }
    if !replication.allInSync && !acceptDataLoss {
      let behind = replication.disks.filter { $0.value.state != .inSync }.keys.sorted()
      let states = behind.map { "\($0) \(replication.disks[$0]!.state.rawValue)" }
      return .failure(
        KazeError(
          .invalidState,
          "its copy on \(secondary) is not in sync (\(states.joined(separator: ", "))), so writes "
            + "the guest saw as done may be missing there; start it from that copy only with "
            + "`kaze vm recover \(vm.name) --accept-data-loss`"))
    }
    return .success(secondary)
  }

  /// The replicated disks a live migration to `target` need not copy: all of them when `target`
  /// holds their secondary copies at the VM's epoch and every one is in sync (the fast path: the
  /// target runs from those copies after the switch-over); otherwise none.
  public static func reusableCopies(
    of vm: VM, replication: Replication?, target: String
  ) -> [String] {
    let disks = Replication.disks(of: vm).map(\.name)
    guard let replication, !disks.isEmpty, replication.secondary == target,
      replication.epoch == vm.epoch, replication.primary == vm.node,
      disks.allSatisfy({ replication.disks[$0]?.state == .inSync })
    else { return [] }
    return disks.sorted()
  }

  /// The record after a failover to `target`: the roles swap (the old primary is no node's copy
  /// any more), no secondary until one is chosen, every disk degraded until it is in sync again.
  public static func swapped(
    _ replication: Replication, to target: String, epoch: Int, at date: Date
  ) -> Replication {
    var next = replication
    next.previousPrimary = replication.primary
    next.primary = target
    next.secondary = nil
    next.epoch = epoch
    next.note = "failed over from \(replication.primary); waiting for a new secondary"
    next.restartCopies(at: date)
    return next
  }
}
