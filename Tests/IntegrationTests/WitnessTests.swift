import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

extension RealGuests {
  /// Two servers and a witness: each server runs kazed and an etcd member; a third, VM-less etcd
  /// member (the witness, on any small machine) gives the pair a quorum.
  @Suite("Two nodes and an etcd witness")
  struct WitnessTests {
    @Test("the witness's loss moves nothing; a server's power loss moves its HA VMs to the other")
    func twoNodesAndWitness() async throws {
      // etcd-1 belongs to node-1, etcd-2 to node-2, etcd-3 is the witness.
      let cluster = try ClusterHarness(nodes: 2)
      defer { cluster.cleanUp() }
      try await cluster.start()
      try await cluster.importTestImage()
      let client = cluster.client
      for (name, node) in [("mail", "node-1"), ("ledger", "node-2")] {
        _ = try await client.createVM(
          CreateVMRequest(
            name: name, image: "tiny", memoryMiB: 160, node: node, ha: HAPolicy(), start: true))
      }
      var views: [String: VMView] = [:]
      for name in ["mail", "ledger"] {
        let view: VMView = try await eventually("\(name) running", timeout: .seconds(180)) {
          let view = try await client.vm(name)
          return view.status.phase == .running ? view : nil
        }
        views[name] = view
      }
      let ids = views.mapValues { $0.vm.id.uuidString.lowercased() }
      let monitor = ChaosMonitor(vms: ids, nodes: cluster.nodes.map { ($0.name, $0.dataDir) })
      monitor.start()
      await monitor.waitForFirstSample()
      defer { monitor.stop() }

      // The witness dies: two of three members remain, nothing fences, nothing moves.
      cluster.etcd.kill("etcd-3")
      try await Task.sleep(for: .seconds(6))
      for (name, view) in views {
        let now = try await client.vm(name)
        #expect(now.status.pid == view.status.pid, "\(name) kept its QEMU")
        #expect(now.status.phase == .running)
      }
      #expect(try await client.nodes().allSatisfy { $0.state == .online })
      try cluster.etcd.restart("etcd-3")
      try await cluster.etcd.waitUntilHealthy()

      // node-2 loses power, and its etcd member with it: node-1 and the witness keep quorum,
      // and ledger runs again on node-1.
      let node2 = try #require(cluster.node("node-2"))
      node2.powerOff()
      cluster.etcd.kill("etcd-2")
      let survivor = try #require(cluster.node("node-1")).client
      let moved = try await eventually("ledger running on node-1", timeout: .seconds(120)) {
        let view = try await survivor.vm("ledger")
        return view.status.phase == .running && view.vm.node == "node-1"
          && view.status.node == "node-1" ? view : nil
      }
      #expect(moved.vm.epoch > (views["ledger"]?.vm.epoch ?? 0))
      try await eventually("ledger ticks on node-1", timeout: .seconds(120)) {
        try await survivor.console("ledger", lines: 50).lines.contains { $0.hasPrefix("tick") }
          ? true : nil
      }
      #expect(try await survivor.vm("mail").status.pid == views["mail"]?.status.pid)
      #expect(try await survivor.events(limit: 500).contains { $0.kind == "vm.recovered" })

      // node-2 comes back with its member: it rejoins and runs nothing twice.
      try cluster.etcd.restart("etcd-2")
      try await cluster.etcd.waitUntilHealthy()
      try await node2.start()
      try await eventually("node-2 online", timeout: .seconds(60)) {
        try await survivor.node("node-2").state == .online ? true : nil
      }
      try await Task.sleep(for: .seconds(2))
      #expect(KazedHarness.qemuProcesses(vmID: ids["ledger"] ?? "").count == 1)
      #expect(monitor.allViolations.isEmpty, "\(monitor.allViolations)")
    }
  }
}
