import Foundation

/// Identifies a lease: a time-to-live that keys can be attached to.
public struct LeaseID: Hashable, Sendable, Codable, CustomStringConvertible {
  public var rawValue: Int64

  public init(rawValue: Int64) {
    self.rawValue = rawValue
  }

  public init(from decoder: any Decoder) throws {
    rawValue = try decoder.singleValueContainer().decode(Int64.self)
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(rawValue)
  }

  public var description: String { String(rawValue) }
}

/// A key with its current value and its etcd-style metadata.
public struct KeyValue: Sendable, Equatable {
  public var key: String
  public var value: Data
  /// The revision of the write that created the key (since its last delete).
  public var createRevision: Revision
  /// The revision of the last write to the key.
  public var modRevision: Revision
  /// The number of writes to the key since its creation: 1 right after it is created.
  public var version: Int64
  /// The lease the key is attached to, if any.
  public var lease: LeaseID?

  public init(
    key: String, value: Data, createRevision: Revision, modRevision: Revision, version: Int64,
    lease: LeaseID? = nil
  ) {
    self.key = key
    self.value = value
    self.createRevision = createRevision
    self.modRevision = modRevision
    self.version = version
    self.lease = lease
  }
}
