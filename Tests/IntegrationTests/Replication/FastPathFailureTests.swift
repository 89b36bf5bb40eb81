import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

extension RealGuests.ReplicationTests {
  @Test(
    "the source dies while the VM migrates to its secondary's node: HA starts it there from that copy, no record lost"
  )
  func sourceDiesDuringFastPath() async throws {
    let (cluster, view) = try await ReplicaGuest.startedCluster("ledger")
    defer { cluster.cleanUp() }
    let client = cluster.client
    let source = try #require(cluster.node("node-1"))
    let target = try #require(cluster.node("node-2"))
    // A slow stream keeps the migration under way long enough to cut it.
    let started = try await client.migrate(
      "ledger", MigrateRequest(to: "node-2", bandwidthMiBps: 1))
    #expect(started.reusedCopies == ["disk0"])
    try await eventually("the memory is on its way", timeout: .seconds(60)) {
      let migration = try? await client.migration("ledger")
      return migration?.state == .migrating && (migration?.progress.transferredBytes ?? 0) > 0
        ? true : nil
    }
    source.powerOff()
    let acknowledged = ReplicaGuest.lastAck(node: source, vmID: view.vm.id)
    let live = cluster.liveClient(excluding: source.name)
    let (present, latest) = try await ReplicaGuest.recordsAfterFailover(
      live, "ledger", on: target, acknowledged: acknowledged)
    progress("source lost mid-migration: \(acknowledged) acknowledged, \(latest ?? -1) present")
    #expect(present != nil, "\(acknowledged) acknowledged, \(latest ?? -1) found")
    let migration = try await live.migration("ledger")
    #expect(migration.state == .failed)
    #expect(migration.error?.contains("was given to node-2") == true, "\(migration.error ?? "")")
    #expect(KazedHarness.qemuProcesses(vmID: view.vm.id.uuidString.lowercased()).count == 1)
  }
}
