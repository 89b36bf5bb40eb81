import Foundation

/// A condition on one key, evaluated atomically at the start of a transaction.
public enum Compare: Sendable, Equatable {
  /// Holds when the key's modRevision equals the revision; `0` holds exactly when the key is absent.
  case modRevision(String, equals: Revision)
  /// Holds when the key's createRevision equals the revision; `0` holds exactly when the key is
  /// absent.
  case createRevision(String, equals: Revision)
  /// Holds when the key exists and its value equals the data.
  case value(String, equals: Data)

  /// The key the condition is about.
  public var key: String {
    switch self {
    case .modRevision(let key, _), .createRevision(let key, _), .value(let key, _): key
    }
  }
}

/// A write performed by a transaction branch.
public enum TxnOp: Sendable, Equatable {
  /// Writes a value, attaching the key to `lease` (or detaching it when nil).
  case put(String, Data, lease: LeaseID? = nil)
  /// Deletes one key; nothing happens when it is absent.
  case delete(String)
  /// Deletes every key that starts with the prefix.
  case deletePrefix(String)
}

/// The outcome of a transaction.
public struct TxnResult: Sendable, Equatable {
  /// Whether every comparison held, that is whether the `then` branch ran.
  public var succeeded: Bool
  /// The revision written by the transaction, or the store revision at which it was evaluated when
  /// the chosen branch changed nothing.
  public var revision: Revision

  public init(succeeded: Bool, revision: Revision) {
    self.succeeded = succeeded
    self.revision = revision
  }
}
