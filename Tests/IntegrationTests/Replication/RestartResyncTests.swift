import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

extension RealGuests.ReplicationTests {
  @Test(
    "a new QEMU of the primary, also one started while degraded, copies only what changed (persistent dirty bitmaps)"
  )
  func restartResyncsDelta() async throws {
    let (cluster, view) = try await ReplicaGuest.startedCluster("diary")
    defer { cluster.cleanUp() }
    let client = cluster.client
    let primary = try #require(cluster.node("node-1"))
    let secondary = try #require(cluster.node("node-2"))
    try await eventually("diary's dirty bitmaps track node-2's copy", timeout: .seconds(90)) {
      try await client.vm("diary").replication?.disks["disk0"]?.tracked != nil ? true : nil
    }

    // Stopped and started while in sync.
    try await Self.stopAndStart(client, "diary")
    let first = try await Self.resyncFigures(client, "diary", after: nil)
    progress("diary restarted in sync: resync copied \(first.bytes) bytes in \(first.seconds) s")
    #expect(first.bytes < 8 << 20, "only what changed is copied, not the 64 MiB disk")

    // Stopped and started while degraded; the secondary comes back afterwards.
    secondary.powerOff()
    _ = try await eventually("diary degraded", timeout: .seconds(30)) {
      try await client.vm("diary").replication?.disks["disk0"]?.state == .degraded ? true : nil
    }
    let atDegrade = ReplicaGuest.lastAck(node: primary, vmID: view.vm.id)
    try await eventually("diary writes on while degraded", timeout: .seconds(60)) {
      ReplicaGuest.lastAck(node: primary, vmID: view.vm.id) >= atDegrade + 20 ? true : nil
    }
    try await Self.stopAndStart(client, "diary")
    let restarted = ReplicaGuest.lastAck(node: primary, vmID: view.vm.id)
    try await eventually("diary writes after its restart", timeout: .seconds(120)) {
      ReplicaGuest.lastAck(node: primary, vmID: view.vm.id) >= restarted + 20 ? true : nil
    }
    try await secondary.start()
    let second = try await Self.resyncFigures(client, "diary", after: first)
    progress(
      "diary restarted while degraded, secondary back: resync copied \(second.bytes) bytes in \(second.seconds) s"
    )
    #expect(second.bytes > 0)
    #expect(second.bytes < 8 << 20, "only what changed is copied, not the 64 MiB disk")

    // Both copies hold the same data once the guest has stopped writing.
    _ = try await client.perform(.stop, on: "diary", wait: true)
    try await eventually("diary stopped", timeout: .seconds(60)) {
      try await client.vm("diary").status.phase == .stopped ? true : nil
    }
    let path = "pools/replicated/disks/diary/disk0.qcow2"
    let compare = try ProcessRunner.run(
      "qemu-img", ["compare", "-U", "\(primary.dataDir)/\(path)", "\(secondary.dataDir)/\(path)"],
      check: false)
    #expect(compare.status == 0, "copies differ: \(compare.stdout) \(compare.stderr)")
  }

  static func stopAndStart(_ client: KazeClient, _ name: String) async throws {
    _ = try await client.perform(.stop, on: name, wait: true)
    try await eventually("\(name) stopped", timeout: .seconds(60)) {
      try await client.vm(name).status.phase == .stopped ? true : nil
    }
    _ = try await client.perform(.start, on: name, wait: true)
    try await eventually("\(name) running again", timeout: .seconds(60)) {
      try await client.vm(name).status.phase == .running ? true : nil
    }
  }

  /// Waits for the disk to be in sync with resync figures other than `previous`.
  static func resyncFigures(
    _ client: KazeClient, _ name: String, after previous: ResyncFigures?
  ) async throws -> ResyncFigures {
    try await eventually("\(name) resynced", timeout: .seconds(120)) {
      () async throws -> ResyncFigures? in
      let view = try await client.vm(name)
      guard let replication = view.replication, replication.allInSync,
        let figures = replication.disks["disk0"]?.lastResync, figures != previous
      else { return nil }
      return figures
    }
  }
}
