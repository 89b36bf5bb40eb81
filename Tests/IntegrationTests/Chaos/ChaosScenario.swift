import Foundation
import KazeClient
import KazeModel
import KazeTestSupport

/// The faults of the chaos suite.
enum ChaosScenario: String, CaseIterable, Sendable {
  case powerLoss = "power loss of a node"
  case networkCut = "network cut of a node"
  case leaderKilled = "leader node killed"
  case etcdMemberKilled = "etcd member killed"
  case etcdMemberFrozen = "etcd member silent"
  case kazedRestarted = "kazed restarted, VMs running"
  case migrationTargetKilled = "target killed mid-migration"
}

/// What one run of a scenario found.
struct ChaosRun: Sendable {
  var problems: [String] = []
  /// From the fault until every HA VM ran again (nil when no VM had to restart).
  var recovery: Duration?
}

extension ChaosCluster {
  func run(_ scenario: ChaosScenario) async throws -> ChaosRun {
    switch scenario {
    case .powerLoss: return try await nodeLost(leader: false, cut: false)
    case .networkCut: return try await nodeLost(leader: false, cut: true)
    case .leaderKilled: return try await nodeLost(leader: true, cut: false)
    case .etcdMemberKilled: return try await etcdMemberKilled()
    case .etcdMemberFrozen: return try await etcdMemberFrozen()
    case .kazedRestarted: return try await kazedRestarted()
    case .migrationTargetKilled: return try await migrationTargetKilled()
    }
  }

  /// A node (the leader's, or another with the most HA VMs) loses power or its link; its HA VMs
  /// must run again elsewhere; then it comes back.
  private func nodeLost(leader killLeader: Bool, cut: Bool) async throws -> ChaosRun {
    let leader = try await eventually("a leader", timeout: .seconds(30)) { await self.leader() }
    let before = try await placement()
    let victimName =
      killLeader
      ? leader
      : harness.nodes.map(\.name).filter { $0 != leader }
        .max { before[$0, default: []].count < before[$1, default: []].count } ?? leader
    let victim = try requireNode(victimName)
    try await ensureHAVM(on: victimName)
    let fault = ContinuousClock.now
    if cut { harness.cut(victimName) } else { victim.powerOff() }
    let back = try await everyVMRunsAgain(since: fault, avoiding: [victimName])
    var run = ChaosRun(recovery: back - fault)
    let left = try await placement(avoiding: [victimName])
    let moved = left[victimName, default: []]
    if !moved.isEmpty { run.problems.append("still assigned to \(victimName): \(moved)") }
    if cut {
      harness.restore(victimName)
    } else {
      try await victim.start()
    }
    try await everyNodeOnline()
    return run
  }

  /// The etcd leader member dies: the nodes fail over to the other members; no VM restarts.
  private func etcdMemberKilled() async throws -> ChaosRun {
    let before = pids()
    let member = await harness.etcd.leaderName() ?? harness.etcd.members[0].name
    harness.etcd.kill(member)
    // Longer than a lease TTL: any node that could not renew in time would have fenced by now.
    try await Task.sleep(for: .seconds(6))
    var run = ChaosRun()
    let after = pids()
    if after != before { run.problems.append("QEMUs changed: \(before) → \(after)") }
    do {
      try await everyNodeOnline()
    } catch {
      run.problems.append("with \(member) down: \(error)")
    }
    try harness.etcd.restart(member)
    try await harness.etcd.waitUntilHealthy()
    return run
  }

  /// An etcd member stops answering without closing its connections (SIGSTOP: what a server
  /// that lost power looks like to the others), each run another member: the nodes' requests,
  /// lease renewals and watches move to the other members in time, so no node fences and no VM
  /// restarts. Then the server "reboots": the member is killed and started again. (It is not
  /// let go on: etcd 3.4 lets a leader that stalled and resumes revoke every lease — etcd issues
  /// 12528 and 15247 — which is a different fault; nodes fence on a dropped lease for it.)
  private func etcdMemberFrozen() async throws -> ChaosRun {
    let before = pids()
    let member = harness.etcd.members[frozenRuns % harness.etcd.members.count].name
    frozenRuns += 1
    harness.etcd.freeze(member)
    defer { harness.etcd.thaw(member) }
    // Several lease TTLs: a node that could not renew through the other members would have
    // fenced by now.
    try await Task.sleep(for: .seconds(8))
    var run = ChaosRun()
    do {
      try await everyNodeOnline()
    } catch {
      run.problems.append("with \(member) silent: \(error)")
    }
    let after = pids()
    if after != before { run.problems.append("QEMUs changed: \(before) → \(after)") }
    harness.etcd.kill(member)
    try harness.etcd.restart(member)
    try await harness.etcd.waitUntilHealthy()
    return run
  }

  /// kazed on the node with the most HA VMs is killed and started again: its VMs keep running,
  /// in the same QEMUs.
  private func kazedRestarted() async throws -> ChaosRun {
    let placement = try await placement()
    let victimName =
      harness.nodes.map(\.name).max {
        placement[$0, default: []].count < placement[$1, default: []].count
      } ?? harness.nodes[0].name
    let victim = try requireNode(victimName)
    let before = pids()
    victim.crash()
    try await victim.start()
    try await Task.sleep(for: .seconds(5))
    var run = ChaosRun()
    let after = pids()
    if after != before { run.problems.append("QEMUs changed: \(before) → \(after)") }
    try await everyNodeOnline()
    return run
  }

  /// A live migration's target loses power mid-transfer: the VM keeps running on the source in
  /// the same QEMU, the migration fails, and the target's own HA VMs run again elsewhere.
  private func migrationTargetKilled() async throws -> ChaosRun {
    // The target runs an HA VM of its own, so its loss also needs a recovery.
    let leader = await leader()
    let targetName =
      harness.nodes.map(\.name).first { $0 != leader } ?? harness.nodes[0].name
    try await ensureHAVM(on: targetName)
    let placement = try await placement()
    guard
      let (source, names) = placement.filter({ $0.key != "-" && $0.key != targetName }).max(by: {
        $0.value.count < $1.value.count
      }),
      let vm = names.sorted().first
    else { throw KazeError(.notFound, "no HA VM to migrate") }
    let target = try requireNode(targetName)
    let pid = pids()[vm]
    monitor.migrating(vm, true)
    defer { monitor.migrating(vm, false) }
    _ = try await client().migrate(vm, MigrateRequest(to: targetName, bandwidthMiBps: 1))
    try await eventually("the migration of \(vm) is sending", timeout: .seconds(60)) {
      let migration = await within(.seconds(5)) { try await self.client().migration(vm) }
      return migration?.state == .migrating && (migration?.progress.transferredBytes ?? 0) > 0
        ? true : nil
    }
    let fault = ContinuousClock.now
    target.powerOff()
    var run = ChaosRun()
    let migration = try await eventually("the migration fails", timeout: .seconds(60)) {
      () async throws -> Migration? in
      let migration = await within(.seconds(5)) {
        try await self.client(avoiding: [targetName]).migration(vm)
      }
      return migration?.isActive == false ? migration : nil
    }
    if migration.state != .failed { run.problems.append("the migration ended \(migration.state)") }
    let back = try await everyVMRunsAgain(since: fault, avoiding: [targetName])
    run.recovery = back - fault
    if pids()[vm] != pid { run.problems.append("\(vm) did not keep its QEMU on \(source)") }
    try await target.start()
    try await everyNodeOnline()
    return run
  }

  /// Brings back whatever a failed run left broken: links, etcd members, nodes.
  func heal() async {
    for node in harness.nodes {
      harness.restore(node.name)
      if node.pid == 0 { try? await node.start() }
    }
    for member in harness.etcd.members {
      if harness.etcd.isRunning(member.name) {
        harness.etcd.thaw(member.name)
      } else {
        try? harness.etcd.restart(member.name)
      }
    }
    try? await harness.etcd.waitUntilHealthy()
    try? await everyNodeOnline()
  }

  private func requireNode(_ name: String) throws -> KazedHarness {
    guard let node = harness.node(name) else {
      throw KazeError(.notFound, "no node \(name) in the cluster")
    }
    return node
  }
}
