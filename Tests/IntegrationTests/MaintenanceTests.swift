import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

extension RealGuests {
  /// Maintenance mode: a node's VMs move away (running ones live), what cannot move is reported,
  /// and on exit they can come back.
  @Suite("Node maintenance in a three-node cluster")
  struct MaintenanceTests {
    @Test("enter moves every movable VM off the node and reports the rest; exit brings them back")
    func enterAndExit() async throws {
      let cluster = try ClusterHarness()
      defer { cluster.cleanUp() }
      try await cluster.start()
      try await cluster.importTestImage()
      let client = cluster.client
      let host = "node-2"
      for name in ["svc-a", "svc-b"] {
        _ = try await client.createVM(
          CreateVMRequest(
            name: name, image: "tiny", memoryMiB: 160, disks: [DiskRequest(size: "8M")], node: host,
            start: true))
      }
      _ = try await client.createVM(
        CreateVMRequest(
          name: "parked", image: "tiny", memoryMiB: 160, disks: [DiskRequest(size: "8M")],
          node: host)
      )
      _ = try await client.createVM(
        CreateVMRequest(
          name: "pinned", image: "tiny", memoryMiB: 160, disks: [DiskRequest(size: "8M")],
          node: host, nodeSelector: ["rack": "r2"], start: true))
      for name in ["svc-a", "svc-b", "pinned"] {
        try await eventually("\(name) ticking", timeout: .seconds(180)) {
          () async throws -> Bool? in
          let view = try await client.vm(name)
          guard view.status.phase == .running else { return nil }
          return try await client.console(name, lines: 20).lines.contains { $0.hasPrefix("tick") }
            ? true : nil
        }
      }
      let enter = try cluster.nodes[0].kaze("node", "maintenance", "enter", host)
      #expect(enter.status == 0, "\(enter.stderr)")
      #expect(enter.stdout.contains("\(host): evacuated"), "\(enter.stdout)")
      #expect(enter.stdout.contains("could not move pinned"), "\(enter.stdout)")
      let record = try await client.maintenance(host)
      #expect(Set(record.moved.keys) == ["svc-a", "svc-b", "parked"], "\(record)")
      #expect(record.blocked["pinned"]?.contains("rack=r2") == true, "\(record.blocked)")
      for name in ["svc-a", "svc-b", "parked"] {
        let view = try await client.vm(name)
        #expect(view.vm.node != host, "\(name) left \(host)")
      }
      for name in ["svc-a", "svc-b"] {
        let lines = try await client.console(name, lines: 200).lines
        #expect(
          !lines.contains { $0.contains("kaze-guest: up") }, "\(name) moved live, without a reboot")
      }
      let node = try await client.node(host)
      #expect(node.state == .maintenance)
      do {
        _ = try await client.createVM(
          CreateVMRequest(name: "newcomer", image: "tiny", memoryMiB: 128, node: host))
        Issue.record("created a VM on a node in maintenance")
      } catch let error as KazeError {
        #expect(error.code == .insufficientResources)
        #expect(error.message.contains("maintenance"))
      }

      let exit = try cluster.nodes[0].kaze("node", "maintenance", "exit", host, "--move-back")
      #expect(exit.status == 0, "\(exit.stderr)")
      #expect(try await client.node(host).state == .online)
      try await eventually("the moved VMs back on \(host)", timeout: .seconds(180)) {
        let views = try await client.vms().filter {
          ["svc-a", "svc-b", "parked"].contains($0.vm.name)
        }
        return views.allSatisfy { $0.vm.node == host } ? true : nil
      }
      #expect(try await client.maintenance(host).state == .exited)
      for name in ["svc-a", "svc-b"] {
        try await eventually("\(name) running on \(host)", timeout: .seconds(60)) {
          let view = try await client.vm(name)
          return view.status.node == host && view.status.phase == .running ? true : nil
        }
      }
    }
  }
}
