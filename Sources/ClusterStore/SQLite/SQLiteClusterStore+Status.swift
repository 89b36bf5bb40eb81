import Foundation
import KazeModel

extension SQLiteClusterStore {
  /// The embedded store is one file in one process: it has quorum whenever it answers.
  public func storeStatus() async -> StoreStatus {
    let healthy = (try? await currentRevision()) != nil
    return StoreStatus(
      kind: "sqlite", quorum: healthy,
      members: [StoreMember(name: "embedded", url: "sqlite", healthy: healthy, isLeader: true)])
  }
}
