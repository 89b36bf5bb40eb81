import Foundation

/// Short forms of the protocol requirements for the common cases.
extension ClusterStore {
  /// Writes `value` at `key` unconditionally, without a lease.
  @discardableResult
  public func put(_ key: String, _ value: Data) async throws -> Revision {
    try await put(key, value, lease: nil, ifModRevision: nil)
  }

  /// Writes `value` at `key` unconditionally, attached to `lease`.
  @discardableResult
  public func put(_ key: String, _ value: Data, lease: LeaseID?) async throws -> Revision {
    try await put(key, value, lease: lease, ifModRevision: nil)
  }

  /// Writes `value` at `key` only when its modRevision is `ifModRevision` (`0`: when it is absent).
  @discardableResult
  public func put(_ key: String, _ value: Data, ifModRevision: Revision?) async throws -> Revision {
    try await put(key, value, lease: nil, ifModRevision: ifModRevision)
  }

  /// Creates `key`; throws `.conflict` when it already exists.
  @discardableResult
  public func create(_ key: String, _ value: Data, lease: LeaseID? = nil) async throws -> Revision {
    try await put(key, value, lease: lease, ifModRevision: 0)
  }

  /// Deletes `key` unconditionally and returns whether it existed.
  @discardableResult
  public func delete(_ key: String) async throws -> Bool {
    try await delete(key, ifModRevision: nil)
  }

  /// A transaction without an `else` branch.
  public func txn(if compares: [Compare], then operations: [TxnOp]) async throws -> TxnResult {
    try await txn(if: compares, then: operations, else: [])
  }

  /// Live events under `prefix`, from the next write on.
  public func watch(prefix: String) -> AsyncThrowingStream<[WatchEvent], Error> {
    watch(prefix: prefix, fromRevision: 0)
  }
}
