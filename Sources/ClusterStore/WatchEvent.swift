import Foundation

/// One change to one key, as delivered by `ClusterStore.watch(prefix:fromRevision:)`.
public struct WatchEvent: Sendable, Equatable {
  public enum Kind: String, Sendable, Equatable, Codable {
    case put
    case delete
  }

  public var kind: Kind
  public var key: String
  /// The value written; empty for a delete.
  public var value: Data
  /// The revision of the change; all events of one transaction share it.
  public var modRevision: Revision
  /// The revision that created the key; `0` for a delete, as in etcd.
  public var createRevision: Revision
  /// The key's version after the change; `0` for a delete.
  public var version: Int64

  public init(
    kind: Kind, key: String, value: Data = Data(), modRevision: Revision,
    createRevision: Revision = 0, version: Int64 = 0
  ) {
    self.kind = kind
    self.key = key
    self.value = value
    self.modRevision = modRevision
    self.createRevision = createRevision
    self.version = version
  }
}

extension WatchEvent {
  /// Groups events in revision order into one batch per revision, as watches deliver them.
  public static func batchedByRevision(_ events: [WatchEvent]) -> [[WatchEvent]] {
    var batches: [[WatchEvent]] = []
    for event in events {
      if let last = batches.last?.last, last.modRevision == event.modRevision {
        batches[batches.count - 1].append(event)
      } else {
        batches.append([event])
      }
    }
    return batches
  }
}
