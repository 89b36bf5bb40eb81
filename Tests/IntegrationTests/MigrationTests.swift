import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

extension RealGuests {
  /// Live migration between kazed nodes with a real guest whose serial ticks must go on.
  @Suite("Live migration in a three-node cluster")
  struct MigrationTests {
    /// Starts a cluster with one running VM on the shared pool; returns it and its node.
    func clusterWithVM(_ name: String) async throws -> (ClusterHarness, VMView) {
      let cluster = try ClusterHarness()
      try await cluster.start()
      try await cluster.importTestImage()
      _ = try await cluster.client.createVM(
        CreateVMRequest(
          name: name, image: "tiny", memoryMiB: 192, disks: [DiskRequest(size: "16M")], start: true)
      )
      let view = try await eventually("\(name) running", timeout: .seconds(120)) {
        let view = try await cluster.client.vm(name)
        return view.status.phase == .running ? view : nil
      }
      try await eventually("\(name) ticks", timeout: .seconds(120)) {
        try await lastTick(cluster.client, name).map { $0 >= 2 ? true : nil } ?? nil
      }
      return (cluster, view)
    }

    func lastTick(_ client: KazeClient, _ vm: String) async throws -> Int? {
      let lines = try await client.console(vm, lines: 100).lines
      return lines.compactMap { $0.hasPrefix("tick ") ? Int($0.dropFirst(5)) : nil }.last
    }

    func qemuCount(_ cluster: ClusterHarness, _ vm: VMView) -> [String: Int] {
      let id = vm.vm.id.uuidString.lowercased()
      var counts: [String: Int] = [:]
      for node in cluster.nodes {
        counts[node.name] = node.qemuPids().filter { KazedHarness.isQEMU($0, vmID: id) }.count
      }
      return counts
    }

    @Test("a running guest moves to another node and keeps ticking, without a reboot")
    func migrate() async throws {
      let (cluster, view) = try await clusterWithVM("mover")
      defer { cluster.cleanUp() }
      let source = try #require(view.vm.node)
      let target = try #require(cluster.nodes.first { $0.name != source }?.name)
      let before = try #require(try await lastTick(cluster.client, "mover"))
      let out = try cluster.nodes[2].kaze("vm", "migrate", "mover", "--to", target)
      #expect(out.status == 0, "\(out.stderr)")
      #expect(out.stdout.contains("migrated mover from \(source) to \(target)"), "\(out.stdout)")
      let moved = try await cluster.client.vm("mover")
      #expect(moved.vm.node == target)
      let migration = try await cluster.client.migration("mover")
      #expect(migration.state == .completed)
      #expect(migration.progress.downtimeMs != nil)
      try await eventually("mover ticks on \(target)", timeout: .seconds(60)) {
        let lines = try await cluster.client.console("mover", lines: 200).lines
        let ticks = lines.compactMap { $0.hasPrefix("tick ") ? Int($0.dropFirst(5)) : nil }
        return (ticks.last ?? 0) > before ? true : nil
      }
      let targetLog = try await cluster.client.console("mover", lines: 400).lines
      #expect(!targetLog.contains { $0.contains("kaze-guest: up") }, "the guest did not boot again")
      let counts = qemuCount(cluster, view)
      #expect(counts[target] == 1 && counts.values.reduce(0, +) == 1, "\(counts)")
      let status = try await eventually("status from \(target)", timeout: .seconds(30)) {
        let view = try await cluster.client.vm("mover")
        return view.status.node == target && view.status.phase == .running ? view : nil
      }
      #expect(status.status.pid != view.status.pid)
      let task = try #require(try await cluster.client.tasks().first { $0.id == migration.id })
      #expect(task.kind == .migrate && task.state == .succeeded)

      // And back again: the QEMU that arrived by migration can leave by migration too.
      let midway = try #require(try await lastTick(cluster.client, "mover"))
      let back = try await cluster.client.migrate("mover", MigrateRequest(to: source), wait: true)
      #expect(back.state == .completed)
      try await eventually("mover ticks on \(source) again", timeout: .seconds(60)) {
        () async throws -> Bool? in
        let view = try await cluster.client.vm("mover")
        guard view.status.node == source, view.status.phase == .running else { return nil }
        return (try await lastTick(cluster.client, "mover") ?? 0) > midway ? true : nil
      }
      let finalCounts = qemuCount(cluster, view)
      #expect(finalCounts[source] == 1 && finalCounts.values.reduce(0, +) == 1, "\(finalCounts)")
    }

    @Test(
      "the target dies mid-migration: the VM keeps running on the source and the migration fails")
    func targetDies() async throws {
      let (cluster, view) = try await clusterWithVM("steadfast")
      defer { cluster.cleanUp() }
      let source = try #require(view.vm.node)
      let targetNode = try #require(cluster.nodes.first { $0.name != source })
      _ = try await cluster.client.migrate(
        "steadfast", MigrateRequest(to: targetNode.name, bandwidthMiBps: 1))
      try await eventually("the migration is sending", timeout: .seconds(60)) {
        let migration = try await cluster.client.migration("steadfast")
        return migration.state == .migrating && migration.progress.transferredBytes > 0 ? true : nil
      }
      // Power loss of the target: its kazed and its QEMUs.
      targetNode.crash()
      for pid in targetNode.qemuPids() { kill(pid, SIGKILL) }
      let client = cluster.liveClient(excluding: targetNode.name)
      let failed = try await eventually("the migration fails", timeout: .seconds(60)) {
        let migration = try await client.migration("steadfast")
        return migration.state == .failed ? migration : nil
      }
      #expect(failed.error?.isEmpty == false)
      let after = try await client.vm("steadfast")
      #expect(after.vm.node == source)
      #expect(after.status.pid == view.status.pid)
      let tick = try #require(try await lastTick(client, "steadfast"))
      try await eventually("the guest keeps ticking on \(source)", timeout: .seconds(30)) {
        (try await lastTick(client, "steadfast") ?? 0) > tick ? true : nil
      }
      #expect(try await client.vm("steadfast").status.phase == .running)
    }

    @Test("the source's kazed restarts mid-migration: the state converges to exactly one QEMU")
    func sourceRestarts() async throws {
      let (cluster, view) = try await clusterWithVM("phoenix")
      defer { cluster.cleanUp() }
      let sourceNode = try #require(cluster.node(view.vm.node ?? ""))
      let target = try #require(cluster.nodes.first { $0.name != sourceNode.name }?.name)
      _ = try await cluster.client.migrate("phoenix", MigrateRequest(to: target, bandwidthMiBps: 4))
      try await eventually("the migration is sending", timeout: .seconds(60)) {
        try await cluster.client.migration("phoenix").state == .migrating ? true : nil
      }
      sourceNode.crash()
      try await Task.sleep(for: .seconds(1))
      try await sourceNode.start()
      let client = cluster.client
      let ended = try await eventually("the migration ends", timeout: .seconds(120)) {
        let migration = try await client.migration("phoenix")
        return migration.isActive ? nil : migration
      }
      let final = try await eventually("phoenix running on its node", timeout: .seconds(60)) {
        let view = try await client.vm("phoenix")
        return view.status.phase == .running && view.status.node == view.vm.node ? view : nil
      }
      #expect(final.vm.node == (ended.state == .completed ? target : sourceNode.name))
      for _ in 0..<5 {
        let counts = qemuCount(cluster, view)
        #expect(counts.values.reduce(0, +) == 1, "exactly one QEMU: \(counts)")
        #expect(counts[final.vm.node ?? ""] == 1, "and on the VM's node: \(counts)")
        try await Task.sleep(for: .seconds(1))
      }
    }

    @Test("shared-nothing: a VM on a node-local disk moves live with its disk; no record is lost")
    func localDiskMigrates() async throws {
      let cluster = try ClusterHarness()
      defer { cluster.cleanUp() }
      try await cluster.start()
      try await cluster.importTestImage()
      let client = cluster.client
      _ = try await client.createVM(
        CreateVMRequest(
          name: "homebody", image: "tiny", memoryMiB: 192,
          disks: [DiskRequest(size: "64M", pool: "local")], cmdline: "kaze.records=on",
          node: "node-1", start: true))
      try await eventually("homebody writes records", timeout: .seconds(180)) {
        ReplicaGuest.lastAck((try? await client.console("homebody", lines: 100))?.lines ?? []) >= 20
          ? true : nil
      }
      let source = try #require(cluster.node("node-1"))
      let target = try #require(cluster.node("node-2"))
      let path = "pools/local/disks/homebody/disk0.qcow2"
      let out = try cluster.nodes[2].kaze("vm", "migrate", "homebody", "--to", "node-2")
      #expect(out.status == 0, "\(out.stderr)")
      let migration = try await client.migration("homebody")
      #expect(migration.state == .completed)
      #expect(migration.progress.percent == 100)
      #expect(migration.storage?["disk0"] != nil, "the disk travelled over NBD")
      let moved = try await client.vm("homebody")
      #expect(moved.vm.node == "node-2")
      #expect(moved.status.phase == .running)
      let acked = ReplicaGuest.lastAck(try await client.console("homebody", lines: 200).lines)
      try await eventually("homebody writes on at node-2", timeout: .seconds(60)) {
        ReplicaGuest.lastAck((try? await client.console("homebody", lines: 100))?.lines ?? [])
          >= acked + 20
          ? true : nil
      }
      let lines = try await client.console("homebody", lines: 400).lines
      #expect(
        lines.filter { $0.contains("kaze-guest: up") }.count <= 1, "moved live, without a reboot")
      #expect(!FileManager.default.fileExists(atPath: "\(source.dataDir)/\(path)"))
      #expect(FileManager.default.fileExists(atPath: "\(target.dataDir)/\(path)"))
      // A reboot on the new node rescans the disk: every record acknowledged so far is there.
      let beforeReboot = ReplicaGuest.lastAck(
        try await client.console("homebody", lines: 100).lines)
      _ = try await client.perform(.reboot, on: "homebody")
      let present = try await eventually("homebody counts its records", timeout: .seconds(120)) {
        () async throws -> Int? in
        ReplicaGuest.recordsPresent((try? await target.consoleSinceBoot("homebody")) ?? [])
          .flatMap { $0 >= beforeReboot ? $0 : nil }
      }
      #expect(present >= beforeReboot)
      do {
        _ = try await cluster.client.migrate("homebody", MigrateRequest(to: "node-9"))
        Issue.record("migrated to a node that does not exist")
      } catch let error as KazeError {
        #expect(error.field == "to")
      }
    }
  }
}
