import Foundation
import GRDB
import KazeModel

/// Reads, writes and transactions.
extension SQLiteClusterStore {
  public func get(_ key: String) async throws -> KeyValue? {
    try Self.validate(key: key)
    return try await read("get '\(key)'") { db in try KeyTable.fetch(key, db) }
  }

  public func list(prefix: String) async throws -> (items: [KeyValue], revision: Revision) {
    let page = try await read("list '\(prefix)'") { db in
      KeyPage(
        items: try KeyTable.fetchAll(prefix: prefix, db),
        revision: try MetaCounter.revision.read(db))
    }
    return (page.items, page.revision)
  }

  @discardableResult
  public func put(
    _ key: String, _ value: Data, lease: LeaseID?, ifModRevision: Revision?
  )
    async throws -> Revision
  {
    try Self.validate(key: key)
    let retention = options.historyRetention
    return try await write("put '\(key)'") { db, batches in
      if let ifModRevision {
        try Self.requireModRevision(ifModRevision, of: key, db)
      }
      var writer = try RevisionWriter(db, now: Self.wallClockMilliseconds())
      try writer.put(key, value, lease: lease)
      try writer.commit(historyRetention: retention, into: &batches)
      return writer.revision
    }
  }

  @discardableResult
  public func delete(_ key: String, ifModRevision: Revision?) async throws -> Bool {
    try Self.validate(key: key)
    let retention = options.historyRetention
    return try await write("delete '\(key)'") { db, batches in
      if let ifModRevision {
        try Self.requireModRevision(ifModRevision, of: key, db)
      }
      var writer = try RevisionWriter(db, now: Self.wallClockMilliseconds())
      let existed = try writer.delete(key)
      try writer.commit(historyRetention: retention, into: &batches)
      return existed
    }
  }

  public func txn(
    if compares: [Compare], then: [TxnOp], else otherwise: [TxnOp]
  ) async throws
    -> TxnResult
  {
    for compare in compares { try Self.validate(key: compare.key, field: "compare.key") }
    for operation in then + otherwise { try Self.validate(operation) }
    let retention = options.historyRetention
    return try await write("run a transaction") { db, batches in
      let succeeded = try compares.allSatisfy { try Self.holds($0, db) }
      var writer = try RevisionWriter(db, now: Self.wallClockMilliseconds())
      for operation in succeeded ? then : otherwise {
        switch operation {
        case .put(let key, let value, let lease): try writer.put(key, value, lease: lease)
        case .delete(let key): try writer.delete(key)
        case .deletePrefix(let prefix): try writer.deletePrefix(prefix)
        }
      }
      try writer.commit(historyRetention: retention, into: &batches)
      return TxnResult(succeeded: succeeded, revision: writer.resultingRevision)
    }
  }

  /// Throws `.conflict` unless the key's modRevision (0 when absent) is `expected`.
  static func requireModRevision(_ expected: Revision, of key: String, _ db: Database) throws {
    let actual = try KeyTable.fetch(key, db)?.modRevision ?? 0
    guard actual == expected else {
      let state = actual == 0 ? "is absent" : "is at modRevision \(actual)"
      let wanted = expected == 0 ? "absent" : "at modRevision \(expected)"
      throw KazeError(.conflict, "'\(key)' \(state), expected \(wanted)", field: key)
    }
  }

  static func holds(_ compare: Compare, _ db: Database) throws -> Bool {
    let current = try KeyTable.fetch(compare.key, db)
    switch compare {
    case .modRevision(_, let revision): return (current?.modRevision ?? 0) == revision
    case .createRevision(_, let revision): return (current?.createRevision ?? 0) == revision
    case .value(_, let value): return current?.value == value
    }
  }

  static func validate(_ operation: TxnOp) throws {
    switch operation {
    case .put(let key, _, _), .delete(let key): try validate(key: key, field: "op.key")
    case .deletePrefix: break
    }
  }
}

/// The result of a list, as one `Sendable` value out of the database queue.
private struct KeyPage: Sendable {
  var items: [KeyValue]
  var revision: Revision
}
