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
}
