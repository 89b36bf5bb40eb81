import Foundation
import KazeClient
import KazeModel
import KazeTestSupport

/// A test guest that writes numbered records to a replicated disk (`kaze.records=on`): record N
/// in sector N with fsync, "ack N" on its console once durable, and at boot
/// "records-present: K" (records 1…K found on the disk, in order).
enum ReplicaGuest {
  static func request(name: String, node: String, replicaNode: String? = nil) -> CreateVMRequest {
    CreateVMRequest(
      name: name, image: "tiny", memoryMiB: 160,
      disks: [DiskRequest(size: "64M", pool: Replication.poolName)], cmdline: "kaze.records=on",
      node: node, ha: HAPolicy(priority: 100, maxRelocations: 20), start: true,
      replicaNode: replicaNode)
  }

  /// The highest "ack N" in console lines.
  static func lastAck(_ lines: some Sequence<String>) -> Int {
    lines.compactMap { line -> Int? in
      guard let range = line.range(of: "ack ") else { return nil }
      return Int(line[range.upperBound...].prefix { $0.isNumber })
    }.max() ?? 0
  }

  /// The acknowledgements in a node's serial log of the VM (read from the file: the node may be
  /// powered off).
  static func lastAck(node: KazedHarness, vmID: UUID) -> Int {
    let path = "\(node.dataDir)/run/\(vmID.uuidString.lowercased())/console.log"
    // The tail is enough (acks only grow); decoded leniently, as a serial log may hold any byte.
    let data = FileManager.default.contents(atPath: path) ?? Data()
    let text = String(decoding: data.suffix(64 << 10), as: UTF8.self)
    // Serial lines end in "\r\n", one Character in Swift: split on any newline.
    return lastAck(text.split(whereSeparator: \.isNewline).map(String.init))
  }

  /// "records-present: K" from the guest's latest boot.
  static func recordsPresent(_ lines: [String]) -> Int? {
    lines.last { $0.contains("records-present: ") }.flatMap {
      Int($0.components(separatedBy: "records-present: ").last?.prefix { $0.isNumber } ?? "")
    }
  }

  /// Waits until every replicated disk of the VM is in sync; returns the record.
  static func inSync(
    _ client: KazeClient, _ name: String, timeout: Duration = .seconds(180)
  )
    async throws -> Replication
  {
    try await eventually("\(name)'s disks in sync", timeout: timeout) {
      () async throws -> Replication? in
      let view = try await client.vm(name)
      guard view.status.phase == .running, let replication = view.replication,
        replication.primary == view.vm.node, replication.allInSync
      else { return nil }
      return replication
    }
  }

  /// A three-node cluster running `name` on node-1 with its secondary on node-2, in sync, the
  /// guest having acknowledged 20 records on both copies. The caller cleans the cluster up.
  static func startedCluster(_ name: String) async throws -> (ClusterHarness, VMView) {
    let cluster = try ClusterHarness()
    do {
      try await cluster.start()
      try await cluster.importTestImage()
      let client = cluster.client
      _ = try await client.createVM(request(name: name, node: "node-1", replicaNode: "node-2"))
      _ = try await inSync(client, name)
      let view = try await client.vm(name)
      guard let primary = cluster.node("node-1") else { throw KazeError.notFound("node", "node-1") }
      try await eventually("\(name) writes records to both copies", timeout: .seconds(120)) {
        lastAck(node: primary, vmID: view.vm.id) >= 20 ? true : nil
      }
      return (cluster, view)
    } catch {
      cluster.cleanUp()
      throw error
    }
  }

  /// After the primary's loss: waits until `name` runs on `node` and its new boot has counted at
  /// least `acknowledged` records. Returns that count, or nil with the last count seen (an
  /// earlier boot's line in the node's serial log is lower, so it never satisfies the wait).
  static func recordsAfterFailover(
    _ client: KazeClient, _ name: String, on node: KazedHarness, acknowledged: Int
  ) async throws -> (present: Int?, latest: Int?) {
    _ = try await eventually("\(name) running on \(node.name)", timeout: .seconds(120)) {
      () async throws -> Bool? in
      let moved = try await client.vm(name)
      return moved.status.phase == .running && moved.vm.node == node.name ? true : nil
    }
    var latest: Int?
    let present = try? await eventually("\(name) reports its records", timeout: .seconds(120)) {
      () async throws -> Int? in
      latest = recordsPresent((try? await node.consoleSinceBoot(name)) ?? [])
      return latest.flatMap { $0 >= acknowledged ? $0 : nil }
    }
    return (present, latest)
  }
}
