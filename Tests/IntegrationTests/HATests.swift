import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

extension RealGuests {
  /// High availability: a failed node's HA VMs run again elsewhere within seconds, never twice.
  @Suite("High availability in a three-node cluster")
  struct HATests {
    func monitor(_ cluster: ClusterHarness, _ ids: [String: String]) async -> ChaosMonitor {
      let monitor = ChaosMonitor(vms: ids, nodes: cluster.nodes.map { ($0.name, $0.dataDir) })
      monitor.start()
      await monitor.waitForFirstSample()
      return monitor
    }

    @Test(
      "power loss of a node: its HA VMs run again on other nodes, never twice; others stay down")
    func powerLoss() async throws {
      let cluster = try ClusterHarness()
      defer { cluster.cleanUp() }
      try await cluster.start()
      try await cluster.importTestImage()
      let client = cluster.client
      let victim = "node-2"
      for (name, priority) in [("db", 500), ("web", 100)] {
        _ = try await client.createVM(
          CreateVMRequest(
            name: name, image: "tiny", memoryMiB: 160, disks: [DiskRequest(size: "8M")],
            node: victim,
            ha: HAPolicy(priority: priority), start: true))
      }
      _ = try await client.createVM(
        CreateVMRequest(
          name: "batch", image: "tiny", memoryMiB: 160, disks: [DiskRequest(size: "8M")],
          node: victim,
          start: true))
      var ids: [String: String] = [:]
      for name in ["db", "web", "batch"] {
        let view = try await eventually("\(name) running", timeout: .seconds(180)) {
          let view = try await client.vm(name)
          return view.status.phase == .running ? view : nil
        }
        ids[name] = view.vm.id.uuidString.lowercased()
      }
      let monitor = await monitor(cluster, ids)
      // Power loss: kazed, its fence guard and every QEMU of the node die at once.
      let node = try #require(cluster.node(victim))
      node.powerOff()
      let survivor = cluster.liveClient(excluding: victim)
      for name in ["db", "web"] {
        let view = try await eventually("\(name) running again elsewhere", timeout: .seconds(120)) {
          let view = try await survivor.vm(name)
          return view.status.phase == .running && view.vm.node != victim
            && view.status.node == view.vm.node
            ? view : nil
        }
        #expect(view.vm.epoch >= 2)
        #expect(view.vm.haRelocations == 1)
        try await eventually("\(name) ticks on \(view.vm.node ?? "?")", timeout: .seconds(120)) {
          try await survivor.console(name, lines: 50).lines.contains { $0.hasPrefix("tick") }
            ? true : nil
        }
      }
      let batch = try await survivor.vm("batch")
      #expect(batch.vm.node == victim, "a VM without HA stays with its node")
      let kinds = try await survivor.events(limit: 500).map(\.kind)
      #expect(kinds.contains("node.lost"))
      #expect(kinds.filter { $0 == "vm.recovering" }.count == 2)
      #expect(kinds.filter { $0 == "vm.recovered" }.count == 2)
      monitor.stop()
      #expect(monitor.allViolations.isEmpty, "\(monitor.allViolations)")
      let worst = monitor.worstCounts
      #expect(worst["db"] == 1 && worst["web"] == 1, "the monitor saw the HA VMs run: \(worst)")

      // The node comes back: it joins again and runs nothing it no longer owns.
      try await node.start()
      try await eventually("\(victim) online", timeout: .seconds(60)) {
        try await survivor.node(victim).state == .online ? true : nil
      }
      try await Task.sleep(for: .seconds(2))
      for name in ["db", "web"] {
        #expect(KazedHarness.qemuProcesses(vmID: ids[name] ?? "").count == 1, "\(name) runs once")
      }
    }

    @Test("HA admission refuses what the cluster could not restart, unless forced")
    func admission() async throws {
      let cluster = try ClusterHarness()
      defer { cluster.cleanUp() }
      try await cluster.start()
      try await cluster.importTestImage()
      let usable = try #require(try await cluster.client.nodes().map(\.node.memoryMiB).min()) - 512
      let big = usable * 2 / 3
      _ = try await cluster.client.createVM(
        CreateVMRequest(name: "ha-1", image: "tiny", memoryMiB: big, node: "node-1", ha: HAPolicy())
      )
      _ = try await cluster.client.createVM(
        CreateVMRequest(name: "ha-2", image: "tiny", memoryMiB: big, node: "node-2", ha: HAPolicy())
      )
      do {
        _ = try await cluster.client.createVM(
          CreateVMRequest(
            name: "ha-3", image: "tiny", memoryMiB: big, node: "node-3", ha: HAPolicy()))
        Issue.record("admitted an HA VM the cluster could not restart")
      } catch let error as KazeError {
        #expect(error.field == "ha")
        #expect(error.message.contains("could not restart"), "\(error.message)")
      }
      _ = try await cluster.client.createVM(
        CreateVMRequest(
          name: "ha-3", image: "tiny", memoryMiB: big, node: "node-3", ha: HAPolicy()),
        force: true)
      let out = try cluster.nodes[0].kaze("vm", "show", "ha-3")
      #expect(out.stdout.contains("ha") && out.stdout.contains("on, priority 100"), "\(out.stdout)")
    }

    @Test(
      "a node cut off from the store fences its HA VMs before they restart elsewhere, then rejoins")
    func partition() async throws {
      let cluster = try ClusterHarness(partitionable: true)
      defer { cluster.cleanUp() }
      try await cluster.start()
      try await cluster.importTestImage()
      let client = cluster.client
      let isolated = "node-2"
      _ = try await client.createVM(
        CreateVMRequest(
          name: "vital", image: "tiny", memoryMiB: 160, disks: [DiskRequest(size: "8M")],
          node: isolated,
          ha: HAPolicy(), start: true))
      let before = try await eventually("vital running", timeout: .seconds(180)) {
        let view = try await client.vm("vital")
        return view.status.phase == .running ? view : nil
      }
      let id = before.vm.id.uuidString.lowercased()
      let oldPid = try #require(before.status.pid)
      let monitor = await monitor(cluster, ["vital": id])
      cluster.cut(isolated)
      let node = try #require(cluster.node(isolated))
      try await eventually("\(isolated) fences vital", timeout: .seconds(60)) {
        KazedHarness.isQEMU(oldPid, vmID: id) ? nil : true
      }
      #expect(node.pid > 0 && kill(node.pid, 0) == 0, "kazed itself keeps running while cut off")
      let survivor = cluster.liveClient(excluding: isolated)
      let moved = try await eventually("vital running elsewhere", timeout: .seconds(120)) {
        let view = try await survivor.vm("vital")
        return view.status.phase == .running && view.vm.node != isolated ? view : nil
      }
      #expect(moved.vm.epoch > before.vm.epoch)
      cluster.restore(isolated)
      try await eventually("\(isolated) back online", timeout: .seconds(60)) {
        try await survivor.node(isolated).state == .online ? true : nil
      }
      try await Task.sleep(for: .seconds(3))
      #expect(KazedHarness.qemuProcesses(vmID: id).count == 1)
      #expect(try await survivor.vm("vital").vm.node == moved.vm.node)
      let fenced = try await eventually("the fencing is in the event log", timeout: .seconds(30)) {
        try await survivor.events(limit: 500).first { $0.kind == "node.fenced" }
      }
      #expect(fenced.node == isolated)
      #expect(fenced.message.contains("stopped HA VMs vital"), "\(fenced.message)")
      monitor.stop()
      #expect(monitor.allViolations.isEmpty, "vital never ran twice: \(monitor.allViolations)")
    }

    @Test("kazed dies and stays down: its fence guard stops the HA VMs before they run elsewhere")
    func kazedDies() async throws {
      let cluster = try ClusterHarness()
      defer { cluster.cleanUp() }
      try await cluster.start()
      try await cluster.importTestImage()
      let client = cluster.client
      let orphaned = "node-2"
      _ = try await client.createVM(
        CreateVMRequest(
          name: "vital", image: "tiny", memoryMiB: 160, node: orphaned, ha: HAPolicy(),
          start: true))
      _ = try await client.createVM(
        CreateVMRequest(name: "plain", image: "tiny", memoryMiB: 160, node: orphaned, start: true))
      var views: [String: VMView] = [:]
      for name in ["vital", "plain"] {
        let view: VMView = try await eventually("\(name) running", timeout: .seconds(180)) {
          let view = try await client.vm(name)
          return view.status.phase == .running ? view : nil
        }
        views[name] = view
      }
      let vital = try #require(views["vital"])
      let plain = try #require(views["plain"])
      let id = vital.vm.id.uuidString.lowercased()
      let monitor = await monitor(cluster, ["vital": id])
      let node = try #require(cluster.node(orphaned))
      let guardPid = try #require(node.guardPid(), "kazed started a fence guard")
      // Only kazed dies: nobody renews the node's lease, but its QEMUs would run on.
      node.crash()
      let survivor = cluster.liveClient(excluding: orphaned)
      let moved = try await eventually("vital running elsewhere", timeout: .seconds(120)) {
        let view = try await survivor.vm("vital")
        return view.status.phase == .running && view.vm.node != orphaned ? view : nil
      }
      #expect(!KazedHarness.isQEMU(try #require(vital.status.pid), vmID: id), "the guard fenced it")
      #expect(
        KazedHarness.isQEMU(
          try #require(plain.status.pid), vmID: plain.vm.id.uuidString.lowercased()),
        "a VM without HA is left running")
      #expect(kill(guardPid, 0) == 0, "the guard outlives kazed")
      // kazed comes back: it keeps the guard, runs vital nowhere, and adopts plain again.
      try await node.start()
      try await eventually("\(orphaned) online", timeout: .seconds(60)) {
        try await survivor.node(orphaned).state == .online ? true : nil
      }
      #expect(node.guardPid() == guardPid)
      try await Task.sleep(for: .seconds(2))
      #expect(KazedHarness.qemuProcesses(vmID: id).count == 1)
      #expect(try await survivor.vm("vital").vm.node == moved.vm.node)
      #expect(try await survivor.vm("plain").status.pid == plain.status.pid)
      monitor.stop()
      #expect(monitor.allViolations.isEmpty, "vital never ran twice: \(monitor.allViolations)")
    }

    @Test("an HA VM that keeps crashing on its node is restarted on another node")
    func crashLoop() async throws {
      let cluster = try ClusterHarness()
      defer { cluster.cleanUp() }
      try await cluster.start()
      try await cluster.importTestImage()
      let client = cluster.client
      _ = try await client.createVM(
        CreateVMRequest(
          name: "flaky", image: "tiny", memoryMiB: 160, node: "node-1",
          ha: HAPolicy(maxRestarts: 1),
          start: true),
        force: true)
      var pids: Set<Int32> = []
      for round in 1...2 {
        let seen = pids
        let view = try await eventually("flaky running (round \(round))", timeout: .seconds(120)) {
          () async throws -> VMView? in
          let view = try await client.vm("flaky")
          guard view.status.phase == .running, let pid = view.status.pid, !seen.contains(pid) else {
            return nil
          }
          return view
        }
        #expect(view.vm.node == "node-1")
        guard let pid = view.status.pid else { continue }
        pids.insert(pid)
        kill(pid, SIGKILL)
      }
      let moved = try await eventually("flaky restarted elsewhere", timeout: .seconds(120)) {
        let view = try await client.vm("flaky")
        return view.vm.node != "node-1" && view.status.phase == .running ? view : nil
      }
      #expect(moved.vm.haRelocations == 1)
      #expect(try await client.events(vm: "flaky").contains { $0.kind == "vm.crash-loop" })
    }
  }
}
