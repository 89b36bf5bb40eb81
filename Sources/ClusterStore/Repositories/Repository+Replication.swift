import Foundation
import KazeModel

extension Repository {
  public func replication(_ vm: String) async throws -> Replication? {
    try await store.getJSON(StoreKeys.replication(vm), as: Replication.self)
  }

  public func replications() async throws -> [String: Replication] {
    let items = try await store.listJSON(prefix: StoreKeys.replications, as: Replication.self)
      .items
    return Dictionary(items.map { ($0.vm, $0) }, uniquingKeysWith: { first, _ in first })
  }

  /// Changes a VM's replication record only while `owner` still owns the VM (its node and epoch)
  /// and the record still belongs to that epoch: a primary that lost the VM cannot write the
  /// states of copies that are no longer its own. Returns the new record, or nil when refused.
  public func updateReplication(
    _ vm: String, owner: VMOwner, _ change: (inout Replication) throws -> Void
  ) async throws -> Replication? {
    for _ in 0..<20 {
      guard let record = try await store.get(StoreKeys.replication(vm)) else { return nil }
      var value = try record.decodeJSON(Replication.self)
      guard value.epoch == owner.epoch else { return nil }
      try change(&value)
      let result = try await store.txn(
        if: [
          .modRevision(record.key, equals: record.modRevision),
          try .jsonValue(StoreKeys.owner(vm), equals: owner),
        ],
        then: [try .putJSON(StoreKeys.replication(vm), value)])
      if result.succeeded { return value }
      guard try await store.getJSON(StoreKeys.owner(vm), as: VMOwner.self) == owner else {
        return nil
      }
    }
    throw KazeError(.conflict, "replication of '\(vm)' is changing too often; try again")
  }

  /// Changes a replication record whatever owns the VM (the secondary's agent publishing its
  /// export); `change` returns false to leave it as it is. Nil when there is no record.
  @discardableResult
  public func modifyReplication(
    _ vm: String, _ change: (inout Replication) throws -> Bool
  ) async throws -> Replication? {
    for _ in 0..<20 {
      guard let record = try await store.get(StoreKeys.replication(vm)) else { return nil }
      var value = try record.decodeJSON(Replication.self)
      guard try change(&value) else { return value }
      let result = try await store.txn(
        if: [.modRevision(record.key, equals: record.modRevision)],
        then: [try .putJSON(StoreKeys.replication(vm), value)])
      if result.succeeded { return value }
    }
    throw KazeError(.conflict, "replication of '\(vm)' is changing too often; try again")
  }
}
