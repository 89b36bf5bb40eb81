import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

extension RealGuests {
  /// Three kazed nodes on 127.0.0.2-4 sharing a 3-member etcd.
  @Suite("A three-node cluster on etcd")
  struct ClusterTests {
    @Test("nodes join; node list and cluster status show them, the leader and quorum")
    func join() async throws {
      let cluster = try ClusterHarness()
      defer { cluster.cleanUp() }
      try await cluster.start()
      let nodes = try await cluster.client.nodes()
      #expect(Set(nodes.map(\.node.name)) == ["node-1", "node-2", "node-3"])
      #expect(
        nodes.allSatisfy { $0.state == .online && $0.node.pools.map(\.name).contains("shared") })
      let status = try await eventually("a leader", timeout: .seconds(30)) {
        let status = try await cluster.client.clusterStatus()
        return status.leader != nil ? status : nil
      }
      #expect(status.store.kind == "etcd")
      #expect(status.store.quorum)
      #expect(status.store.members.filter(\.healthy).count == 3)
      let out = try cluster.nodes[1].kaze("cluster", "status")
      #expect(
        out.stdout.contains("quorum") && out.stdout.contains("3 of 3 online"),
        "\(out.stdout)\(out.stderr)")
      let list = try cluster.nodes[2].kaze("node", "list")
      #expect(list.stdout.components(separatedBy: "online").count - 1 == 3, "\(list.stdout)")
      // The probe the chaos suite's diagnosis uses, against a node that answers and one that is gone.
      let probe = HTTPProbe.statusLine(server: cluster.nodes[0].server, path: "/api/v1/nodes")
      #expect(probe.hasSuffix("200 OK"), "\(probe)")
      cluster.nodes[2].stop()
      let gone = HTTPProbe.statusLine(server: cluster.nodes[2].server, path: "/api/v1/nodes")
      #expect(gone.hasPrefix("cannot connect"), "\(gone)")
    }

    @Test("the leader's kazed dies: another node leads, the dead node goes offline, then rejoins")
    func leaderFailover() async throws {
      let cluster = try ClusterHarness()
      defer { cluster.cleanUp() }
      try await cluster.start()
      let first = try await eventually("a leader", timeout: .seconds(30)) {
        try await cluster.client.clusterStatus().leader
      }
      let leader = try #require(cluster.node(first))
      leader.crash()
      let other = cluster.liveClient(excluding: first)
      let second = try await eventually("a new leader", timeout: .seconds(30)) {
        let status = try? await other.clusterStatus()
        return status?.leader.flatMap { $0 != first ? $0 : nil }
      }
      #expect(second != first)
      try await eventually("\(first) offline", timeout: .seconds(30)) {
        try await other.node(first).state == .offline ? true : nil
      }
      try await leader.start()
      try await eventually("\(first) back online", timeout: .seconds(30)) {
        try await other.node(first).state == .online ? true : nil
      }
      let leaders = try await other.events(limit: 500).filter { $0.kind == "leader.elected" }
      #expect(leaders.count >= 2)
    }

    @Test("VMs spread over the nodes; a VM that fits nowhere is refused with every node's reason")
    func placement() async throws {
      let cluster = try ClusterHarness()
      defer { cluster.cleanUp() }
      try await cluster.start()
      try await cluster.importTestImage()
      let usable = try #require(try await cluster.client.nodes().map(\.node.memoryMiB).min()) - 512
      let big = usable * 3 / 4
      for index in 1...3 {
        _ = try await cluster.client.createVM(
          CreateVMRequest(name: "big-\(index)", image: "tiny", memoryMiB: big))
      }
      let placed = try await eventually("three placements", timeout: .seconds(30)) {
        let vms = try await cluster.client.vms()
        let nodes = vms.compactMap(\.vm.node)
        return nodes.count == 3 ? nodes : nil
      }
      #expect(Set(placed).count == 3, "one big VM per node: \(placed)")
      do {
        _ = try await cluster.client.createVM(
          CreateVMRequest(name: "big-4", image: "tiny", memoryMiB: big))
        Issue.record("placed a VM that fits on no node")
      } catch let error as KazeError {
        #expect(error.code == .insufficientResources)
        for node in ["node-1", "node-2", "node-3"] {
          #expect(error.message.contains("\(node) has"), "\(error.message)")
        }
      }
      #expect(try await cluster.client.vms().count == 3)
      let labelled = try await cluster.client.createVM(
        CreateVMRequest(name: "racked", image: "tiny", memoryMiB: 128, nodeSelector: ["rack": "r3"])
      )
      #expect(labelled.vm.spec.nodeSelector == ["rack": "r3"])
      try await eventually("racked placed on node-3", timeout: .seconds(30)) {
        try await cluster.client.vm("racked").vm.node == "node-3" ? true : nil
      }
      do {
        _ = try await cluster.client.createVM(
          CreateVMRequest(name: "lost", image: "tiny", memoryMiB: 128, nodeSelector: ["rack": "r9"])
        )
        Issue.record("placed a VM whose label no node has")
      } catch let error as KazeError {
        #expect(error.message.contains("lacks label rack=r9"), "\(error.message)")
      }
    }

    @Test(
      "a VM runs on the node it is placed on; any node shows its console, opens its console websockets and its graphs"
    )
    func runsOnItsNode() async throws {
      let cluster = try ClusterHarness()
      defer { cluster.cleanUp() }
      try await cluster.start()
      try await cluster.importTestImage()
      _ = try await cluster.client.createVM(
        CreateVMRequest(
          name: "roamer", image: "tiny", memoryMiB: 192, disks: [DiskRequest(size: "16M")],
          start: true))
      let running = try await eventually("roamer running", timeout: .seconds(120)) {
        let view = try await cluster.client.vm("roamer")
        return view.status.phase == .running ? view : nil
      }
      let owner = try #require(cluster.node(running.vm.node ?? ""))
      #expect(owner.qemuPids().count == 1)
      #expect(running.vm.spec.disks.first?.pool == "shared")
      for node in cluster.nodes where node.name != owner.name { #expect(node.qemuPids().isEmpty) }
      for node in cluster.nodes {
        try await eventually("console of roamer through \(node.name)", timeout: .seconds(120)) {
          try await node.client.console("roamer", lines: 50).lines.contains { $0.hasPrefix("tick") }
            ? true : nil
        }
        try await consoleSockets(of: "roamer", askedAt: node, owner: owner)
        let load = try await eventually("roamer's load through \(node.name)", timeout: .seconds(60))
        {
          let series = try await node.client.metrics(vm: "roamer", minutes: 5)
          return series.samples.isEmpty ? nil : series
        }
        #expect(load.node == owner.name)
        #expect(load.samples.allSatisfy { $0.memoryTotalBytes == 192 * 1_048_576 })
        let ownerLoad = try await node.client.metrics(node: owner.name, minutes: 5)
        #expect(ownerLoad.node == owner.name)
      }
    }

    /// Both console websockets of `vm`, with tickets asked of `node`: the ticket names the
    /// owner's address when `node` is another one; the serial console carries a typed line both
    /// ways; a ticket works once; the VNC socket speaks RFB.
    func consoleSockets(
      of vm: String, askedAt node: KazedHarness, owner: KazedHarness
    )
      async throws
    {
      let ticket = try await node.client.consoleTicket(vm, kind: .serial)
      #expect(ticket.node == owner.name)
      #expect(ticket.address == (node.name == owner.name ? nil : owner.server))
      let url = ConsoleSocket.url(ticket, askedAt: node.server)
      let typed = "typed-through-\(node.name)"
      let session = try await ConsoleSocket.session(
        url, typing: "\(typed)\r", after: "tick", until: "console input [\(typed)]")
      #expect(session.received.contains("console input [\(typed)]"))
      let again = try await ConsoleSocket.session(url, until: "tick", timeout: .seconds(10))
      #expect(again.closeCode == .policyViolation)
      #expect(again.received.isEmpty)
      let display = try await node.client.consoleTicket(vm, kind: .vnc)
      let rfb = try await ConsoleSocket.session(
        ConsoleSocket.url(display, askedAt: node.server), until: "RFB 003.008",
        timeout: .seconds(20))
      #expect(rfb.received.hasPrefix("RFB 003.008"))
    }

    @Test("a cluster CPU baseline is what VMs start with and keep across a migration")
    func cpuBaseline() async throws {
      let cluster = try ClusterHarness()
      defer { cluster.cleanUp() }
      try await cluster.start()
      try await cluster.importTestImage()
      let client = cluster.client
      for bad in ["host", "Pentium9000"] {
        do {
          _ = try await client.setClusterConfig(ClusterConfig(cpuBaseline: bad))
          Issue.record("accepted CPU baseline \(bad)")
        } catch let error as KazeError {
          #expect(error.field == "cpuBaseline")
        }
      }
      let out = try cluster.nodes[1].kaze("cluster", "set", "--cpu-baseline", "core2duo")
      #expect(out.status == 0, "\(out.stderr)")
      #expect(try await client.clusterStatus().config.cpuBaseline == "core2duo")
      _ = try await client.createVM(
        CreateVMRequest(
          name: "based", image: "tiny", memoryMiB: 160, disks: [DiskRequest(size: "8M")],
          start: true)
      )
      let view = try await eventually("based running", timeout: .seconds(120)) {
        let view = try await client.vm("based")
        return view.status.phase == .running ? view : nil
      }
      #expect(view.status.cpuModel == "core2duo")
      let migration = try await client.migrate("based", MigrateRequest(), wait: true)
      #expect(migration.state == .completed)
      let moved = try await eventually("status on \(migration.target)", timeout: .seconds(60)) {
        let view = try await client.vm("based")
        return view.status.node == migration.target && view.status.pid != nil ? view : nil
      }
      #expect(moved.status.cpuModel == "core2duo")
      let pid = try #require(moved.status.pid)
      let arguments = String(
        decoding: FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data(),
        as: UTF8.self
      )
      .split(separator: "\0")
      #expect(arguments.contains("core2duo"), "the target runs the same CPU model")
    }
  }
}
