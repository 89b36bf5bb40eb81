import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

extension RealGuests.ReplicationTests {
  @Test(
    "a running disk moved onto the replicated pool is mirrored, grows with its copy, and moved off it the copy goes; no reboot, no record lost"
  )
  func moveOntoAndOffReplicated() async throws {
    let cluster = try ClusterHarness()
    defer { cluster.cleanUp() }
    try await cluster.start()
    try await cluster.importTestImage()
    let client = cluster.client
    let created = try await client.createVM(
      CreateVMRequest(
        name: "ledger", image: "tiny", memoryMiB: 160,
        disks: [DiskRequest(size: "64M", pool: "local")], cmdline: "kaze.records=on",
        node: "node-1", start: true))
    let primary = try #require(cluster.node("node-1"))
    try await eventually("ledger writes records", timeout: .seconds(120)) {
      ReplicaGuest.lastAck(node: primary, vmID: created.vm.id) >= 20 ? true : nil
    }
    let pid = try await client.vm("ledger").status.pid

    let onto = try primary.kaze("disk", "move", "ledger", "disk0", "--to", Replication.poolName)
    #expect(onto.status == 0, "\(onto.stderr)")
    let replication = try await ReplicaGuest.inSync(client, "ledger")
    #expect(replication.primary == "node-1")
    let secondaryName = try #require(replication.secondary)
    let secondary = try #require(cluster.node(secondaryName))
    let copy = "pools/replicated/disks/ledger/disk0.qcow2"
    #expect(FileManager.default.fileExists(atPath: "\(secondary.dataDir)/\(copy)"))
    #expect(try await client.vm("ledger").status.pid == pid, "the same QEMU: no restart")
    progress("ledger's disk moved onto the replicated pool and is in sync on \(secondary.name)")

    // It grows while mirrored: the secondary makes a copy of the new size, filled anew.
    let resized = Date()
    let grow = try primary.kaze("disk", "resize", "ledger", "disk0", "--size", "96M")
    #expect(grow.status == 0, "\(grow.stderr)")
    let grown = try await eventually("ledger's copies in sync at 96 MiB", timeout: .seconds(120)) {
      () async throws -> Replication? in
      let view = try await client.vm("ledger")
      guard let replication = view.replication, replication.allInSync,
        let disk = replication.disks["disk0"], disk.since > resized
      else { return nil }
      return replication
    }
    #expect(grown.secondary == secondary.name)
    let size = try ProcessRunner.run(
      "qemu-img", ["info", "-U", "--output=json", "\(secondary.dataDir)/\(copy)"])
    #expect(size.stdout.contains("\"virtual-size\": \(96 << 20)"), "\(size.stdout)")
    #expect(try await client.vm("ledger").status.pid == pid, "the same QEMU: no restart")

    let off = try primary.kaze("disk", "move", "ledger", "disk0", "--to", "local")
    #expect(off.status == 0, "\(off.stderr)")
    try await eventually("the replication record goes", timeout: .seconds(30)) {
      try await client.vm("ledger").replication == nil ? true : nil
    }
    try await eventually("node-2 drops its copy", timeout: .seconds(30)) {
      FileManager.default.fileExists(atPath: "\(secondary.dataDir)/\(copy)") ? nil : true
    }
    #expect(try await client.vm("ledger").status.pid == pid, "the same QEMU: no restart")
    let acknowledged = ReplicaGuest.lastAck(node: primary, vmID: created.vm.id)
    try await eventually("ledger writes on", timeout: .seconds(60)) {
      ReplicaGuest.lastAck(node: primary, vmID: created.vm.id) >= acknowledged + 20 ? true : nil
    }
    // A reboot rescans the disk, now on the local pool again: every acknowledged record is there.
    let beforeReboot = ReplicaGuest.lastAck(node: primary, vmID: created.vm.id)
    _ = try await client.perform(.reboot, on: "ledger")
    let present = try await eventually("ledger counts its records", timeout: .seconds(120)) {
      () async throws -> Int? in
      ReplicaGuest.recordsPresent((try? await primary.consoleSinceBoot("ledger")) ?? [])
        .flatMap { $0 >= beforeReboot ? $0 : nil }
    }
    #expect(present >= beforeReboot)
  }
}
