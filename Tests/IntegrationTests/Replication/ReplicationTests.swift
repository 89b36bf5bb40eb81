import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

extension RealGuests {
  /// Replicated disks: every write the guest saw complete is on two nodes.
  @Suite("Replicated storage across nodes")
  struct ReplicationTests {
    /// How many primary-node kills the zero-loss test does in a row (default 3).
    static var runs: Int {
      Int(ProcessInfo.processInfo.environment["KAZE_REPLICA_RUNS"] ?? "") ?? 3
    }

    @Test(
      "kill -9 of the primary node: HA restarts the VM on its secondary with every acknowledged record"
    )
    func noAcknowledgedWriteLost() async throws {
      let cluster = try ClusterHarness()
      defer { cluster.cleanUp() }
      try await cluster.start()
      try await cluster.importTestImage()
      _ = try await cluster.client.createVM(ReplicaGuest.request(name: "ledger", node: "node-1"))
      var previousEpoch = 0
      for round in 1...Self.runs {
        let client = cluster.liveClient()
        let replication = try await ReplicaGuest.inSync(client, "ledger")
        let view = try await client.vm("ledger")
        let primaryName = try #require(view.vm.node)
        let secondaryName = try #require(replication.secondary)
        #expect(primaryName != secondaryName)
        #expect(view.vm.epoch >= previousEpoch)
        let primary = try #require(cluster.node(primaryName))
        let secondary = try #require(cluster.node(secondaryName))
        // Let the guest acknowledge some records while its writes go to both copies.
        let before = try await ReplicaGuest.lastAck(client.console("ledger", lines: 400).lines)
        try await eventually("ledger acknowledges 30 more records", timeout: .seconds(120)) {
          ReplicaGuest.lastAck(node: primary, vmID: view.vm.id) >= before + 30 ? true : nil
        }
        primary.powerOff()
        let acknowledged = ReplicaGuest.lastAck(node: primary, vmID: view.vm.id)
        progress("replication round \(round): \(primaryName) powered off after ack \(acknowledged)")
        let survivor = cluster.liveClient(excluding: primaryName)
        let moved: VMView
        do {
          moved = try await eventually("ledger running on \(secondaryName)", timeout: .seconds(120))
          {
            () async throws -> VMView? in
            let moved = try await survivor.vm("ledger")
            return moved.status.phase == .running && moved.vm.node == secondaryName ? moved : nil
          }
        } catch {
          let events =
            (try? await survivor.events(limit: 40).map { "\($0.kind): \($0.message)" }) ?? []
          progress("replication round \(round) stuck; events:\n" + events.joined(separator: "\n"))
          throw error
        }
        #expect(moved.vm.epoch > view.vm.epoch)
        #expect(moved.replication?.primary == secondaryName)
        #expect(moved.replication?.previousPrimary == primaryName)
        // The node's serial log may still hold an earlier boot of the guest there (it ran the VM
        // in an earlier round), whose count is lower than this round's acknowledgements; the new
        // boot's count must reach them.
        var latest: Int?
        let present = try? await eventually("ledger reports its records", timeout: .seconds(120)) {
          () async throws -> Int? in
          latest = ReplicaGuest.recordsPresent(
            (try? await secondary.consoleSinceBoot("ledger")) ?? [])
          return latest.flatMap { $0 >= acknowledged ? $0 : nil }
        }
        progress("replication round \(round): \(latest ?? -1) records on \(secondaryName)")
        #expect(
          present != nil,
          "round \(round): \(acknowledged) records were acknowledged on \(primaryName); the guest found \(latest.map(String.init) ?? "no count") on \(secondaryName)"
        )
        // The old primary comes back: it must neither run the VM nor touch the new primary copy.
        try await primary.start()
        try await cluster.everyNodeOnline()
        #expect(KazedHarness.qemuProcesses(vmID: view.vm.id.uuidString.lowercased()).count == 1)
        previousEpoch = moved.vm.epoch
      }
      // After the last round, the guest still finds every record it wrote before it.
      let client = cluster.liveClient()
      let last = try await ReplicaGuest.inSync(client, "ledger")
      let kinds = try await client.events(limit: 2000).filter { $0.vm == "ledger" }.map(\.kind)
      #expect(kinds.filter { $0 == "vm.recovered" }.count == Self.runs)
      #expect(kinds.contains("disk.in-sync"))
      #expect(last.epoch == previousEpoch)
    }

    @Test(
      "secondary lost: the VM runs on, degraded; back, only the delta is copied and the copies match"
    )
    func degradedThenResync() async throws {
      let (cluster, view) = try await ReplicaGuest.startedCluster("journal")
      defer { cluster.cleanUp() }
      let client = cluster.client
      let synced = try await ReplicaGuest.inSync(client, "journal")
      #expect(synced.secondary == "node-2")
      let primary = try #require(cluster.node("node-1"))
      let secondary = try #require(cluster.node("node-2"))
      let export = try #require(synced.disks["disk0"]?.export)

      secondary.powerOff()
      progress(
        "journal: node-2 powered off after ack \(ReplicaGuest.lastAck(node: primary, vmID: view.vm.id))"
      )
      let degraded = try await eventually("journal degraded", timeout: .seconds(30)) {
        () async throws -> Replication? in
        let replication = try await client.vm("journal").replication
        return replication?.disks["disk0"]?.state == .degraded ? replication : nil
      }
      #expect(degraded.secondary == "node-2")
      progress(
        "journal: degraded recorded at ack \(ReplicaGuest.lastAck(node: primary, vmID: view.vm.id))"
      )
      let atDegrade = ReplicaGuest.lastAck(node: primary, vmID: view.vm.id)
      try await eventually("journal writes on while degraded", timeout: .seconds(60)) {
        ReplicaGuest.lastAck(node: primary, vmID: view.vm.id) >= atDegrade + 40 ? true : nil
      }
      let status = try await client.vm("journal").status
      #expect(status.phase == .running)

      try await secondary.start()
      let resynced = try await ReplicaGuest.inSync(client, "journal", timeout: .seconds(120))
      let figures = try #require(resynced.disks["disk0"]?.lastResync)
      progress(
        "resync after the secondary came back: \(figures.bytes) bytes in \(figures.seconds) s")
      #expect(resynced.disks["disk0"]?.export == export, "same export, same copy")
      #expect(figures.bytes > 0)
      #expect(figures.bytes < 8 << 20, "only the delta is copied, not the 64 MiB disk")
      let kinds = try await client.events(limit: 2000).filter { $0.vm == "journal" }.map(\.kind)
      for kind in ["disk.syncing", "disk.in-sync", "disk.degraded", "disk.resyncing"] {
        #expect(kinds.contains(kind), "event \(kind)")
      }

      // Storage fencing: only the current epoch's export name exists on the secondary.
      let stale = try ProcessRunner.run(
        "qemu-img",
        [
          "info",
          "nbd://\(export.host):\(export.port)/"
            + Replication.exportName(vmID: view.vm.id, disk: "disk0", epoch: view.vm.epoch - 1),
        ],
        check: false)
      #expect(stale.status != 0, "an older epoch's export is refused")

      // Both copies hold the same data once the guest has stopped writing.
      _ = try await client.perform(.stop, on: "journal", wait: true)
      try await eventually("journal stopped", timeout: .seconds(60)) {
        try await client.vm("journal").status.phase == .stopped ? true : nil
      }
      let path = "pools/replicated/disks/journal/disk0.qcow2"
      let compare = try ProcessRunner.run(
        "qemu-img",
        ["compare", "-U", "\(primary.dataDir)/\(path)", "\(secondary.dataDir)/\(path)"],
        check: false)
      #expect(compare.status == 0, "copies differ: \(compare.stdout) \(compare.stderr)")
      let storage = try primary.kaze("storage", "status")
      #expect(storage.status == 0)
      #expect(storage.stdout.contains("journal") && storage.stdout.contains("node-2"))
    }
  }
}

extension RealGuests.ReplicationTests {
  @Test(
    "a copy that is behind is never started by HA; an admin can start it with --accept-data-loss")
  func staleCopyNeedsAdmin() async throws {
    let (cluster, view) = try await ReplicaGuest.startedCluster("ledger")
    defer { cluster.cleanUp() }
    let client = cluster.client
    let primary = try #require(cluster.node("node-1"))
    let secondary = try #require(cluster.node("node-2"))
    // The secondary goes first; the primary writes on alone, then dies too.
    secondary.powerOff()
    try await eventually("ledger degraded", timeout: .seconds(30)) {
      try await client.vm("ledger").replication?.disks["disk0"]?.state == .degraded ? true : nil
    }
    let atDegrade = ReplicaGuest.lastAck(node: primary, vmID: view.vm.id)
    try await eventually("ledger writes on alone", timeout: .seconds(60)) {
      ReplicaGuest.lastAck(node: primary, vmID: view.vm.id) >= atDegrade + 20 ? true : nil
    }
    primary.powerOff()
    let acknowledged = ReplicaGuest.lastAck(node: primary, vmID: view.vm.id)
    try await secondary.start()
    let survivor = cluster.nodes[2].client
    let blocked = try await eventually("recovery blocked", timeout: .seconds(60)) {
      try await survivor.events(limit: 500).first {
        $0.kind == "vm.recovery-blocked" && $0.vm == "ledger"
      }
    }
    #expect(blocked.message.contains("not in sync"), "\(blocked.message)")
    #expect(blocked.message.contains("--accept-data-loss"), "\(blocked.message)")
    try await Task.sleep(for: .seconds(3))
    let waiting = try await survivor.vm("ledger")
    #expect(waiting.vm.node == "node-1", "HA must not start it from the stale copy")
    #expect(KazedHarness.qemuProcesses(vmID: view.vm.id.uuidString.lowercased()).isEmpty)

    // Without the flag the admin is told why; with it, the VM starts from node-2's copy.
    let refused = try secondary.kaze("vm", "recover", "ledger")
    #expect(refused.status != 0)
    #expect(refused.stderr.contains("not in sync"), "\(refused.stderr)")
    let accepted = try secondary.kaze("vm", "recover", "ledger", "--accept-data-loss")
    #expect(accepted.status == 0, "\(accepted.stderr)")
    let moved = try await eventually("ledger running on node-2", timeout: .seconds(120)) {
      () async throws -> VMView? in
      let moved = try await survivor.vm("ledger")
      return moved.status.phase == .running && moved.vm.node == "node-2" ? moved : nil
    }
    #expect(moved.replication?.primary == "node-2")
    let present = try await eventually("ledger reports its records", timeout: .seconds(120)) {
      () async throws -> Int? in
      ReplicaGuest.recordsPresent((try? await secondary.consoleSinceBoot("ledger")) ?? [])
    }
    progress("stale copy: \(acknowledged) acknowledged on node-1, \(present) on node-2's copy")
    #expect(present >= atDegrade - 1 && present < acknowledged, "the copy was behind, as reported")
    let kinds = try await survivor.events(limit: 500).filter { $0.vm == "ledger" }.map(\.kind)
    #expect(kinds.contains("vm.data-loss-accepted"))
  }
}

extension RealGuests.ReplicationTests {
  @Test(
    "a replicated VM migrates live: to its secondary's node from the copy there, then to a node without one; no record lost"
  )
  func migrateReplicated() async throws {
    let (cluster, _) = try await ReplicaGuest.startedCluster("ledger")
    defer { cluster.cleanUp() }
    let client = cluster.client
    var replication = try await ReplicaGuest.inSync(client, "ledger")
    #expect(replication.secondary == "node-2")
    // First the fast path (the target holds the in-sync copy and runs from it), then a target
    // with no copy (the disk travels over NBD).
    for fastPath in [true, false] {
      let source = try #require(try await client.vm("ledger").vm.node)
      let secondary = try #require(replication.secondary)
      let target =
        fastPath
        ? secondary
        : try #require(cluster.nodes.map(\.name).first { $0 != source && $0 != secondary })
      let out = try cluster.nodes[0].kaze("vm", "migrate", "ledger", "--to", target)
      #expect(out.status == 0, "\(out.stderr)")
      let moved = try await client.vm("ledger")
      #expect(moved.vm.node == target)
      let migration = try await client.migration("ledger")
      if fastPath {
        #expect(migration.reusedCopies == ["disk0"])
        #expect(migration.storage?["disk0"] == nil, "nothing was copied for the migration")
        let switched = try await eventually("the switch-over is recorded", timeout: .seconds(30)) {
          () async throws -> Int? in try await client.migration("ledger").progress.switchoverMs
        }
        progress("fast path: downtime \(migration.progress.downtimeMs ?? -1) ms + \(switched) ms")
        let events = try await client.events(limit: 200, vm: "ledger")
        #expect(
          events.contains {
            $0.kind == "vm.migrated-in" && $0.message.contains("from its own copies")
          })
      } else {
        #expect(migration.reusedCopies == nil)
        #expect(migration.storage?["disk0"] != nil, "the replicated disk travelled with the VM")
      }
      // The guest goes on writing there, without a reboot.
      let acked = ReplicaGuest.lastAck(try await client.console("ledger", lines: 200).lines)
      try await eventually("ledger writes on at \(target)", timeout: .seconds(60)) {
        ReplicaGuest.lastAck((try? await client.console("ledger", lines: 100))?.lines ?? [])
          >= acked + 20
          ? true : nil
      }
      let lines = try await client.console("ledger", lines: 400).lines
      #expect(
        !lines.contains { $0.contains("kaze-guest: up") }, "moved live, without a reboot")
      replication = try await ReplicaGuest.inSync(client, "ledger")
      #expect(replication.primary == target)
      #expect(replication.secondary != nil && replication.secondary != target)
      progress(
        "ledger migrated \(source) -> \(target)\(fastPath ? " (fast path)" : ""); "
          + "secondary now \(replication.secondary ?? "-")")
    }
    // The last copies are complete: a power loss of the primary loses no acknowledged record.
    let view = try await client.vm("ledger")
    let primaryName = try #require(view.vm.node)
    let primary = try #require(cluster.node(primaryName))
    let secondaryName = try #require(replication.secondary)
    let secondary = try #require(cluster.node(secondaryName))
    let before = ReplicaGuest.lastAck(node: primary, vmID: view.vm.id)
    try await eventually("ledger writes on", timeout: .seconds(60)) {
      ReplicaGuest.lastAck(node: primary, vmID: view.vm.id) >= before + 20 ? true : nil
    }
    primary.powerOff()
    let acknowledged = ReplicaGuest.lastAck(node: primary, vmID: view.vm.id)
    let (present, latest) = try await ReplicaGuest.recordsAfterFailover(
      cluster.liveClient(excluding: primary.name), "ledger", on: secondary,
      acknowledged: acknowledged)
    progress(
      "after two migrations and a failover: \(acknowledged) acknowledged, \(latest ?? -1) present")
    #expect(present != nil, "\(acknowledged) acknowledged, \(latest ?? -1) found")
  }
}
