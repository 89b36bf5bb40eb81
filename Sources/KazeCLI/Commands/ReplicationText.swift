import Foundation
import KazeClient
import KazeModel

extension DiskRequest {
  /// `SIZE` or `SIZE:POOL` from the command line.
  init(commandLine value: String) {
    let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
    self.init(size: parts.first ?? value, pool: parts.count == 2 ? parts[1] : nil)
  }
}

/// How the CLI words replication states.
enum ReplicationText {
  /// ", in-sync with node-2" after a disk's size in `kaze vm show`.
  static func disk(_ name: String, in replication: Replication) -> String {
    guard let disk = replication.disks[name] else { return "" }
    return "; \(state(disk)), primary \(replication.primary), secondary "
      + (replication.secondary ?? "none")
  }

  static func state(_ disk: DiskReplica) -> String {
    switch disk.state {
    case .syncing, .resyncing:
      let percent =
        disk.totalBytes > 0 ? Int(Double(disk.syncedBytes) * 100 / Double(disk.totalBytes)) : 0
      return "\(disk.state.rawValue) \(percent)%"
    case .inSync, .degraded:
      return disk.state.rawValue
    }
  }
}
