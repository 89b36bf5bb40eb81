import Foundation
import GRDB

/// Queries on the `kv` table.
enum KeyTable {
  private static let columns = "key, value, createRevision, modRevision, version, lease"

  static func fetch(_ key: String, _ db: Database) throws -> KeyValue? {
    try Row.fetchOne(db, sql: "SELECT \(columns) FROM kv WHERE key = ?", arguments: [key])
      .map(keyValue)
  }

  /// Keys under `prefix`, sorted by their bytes.
  static func fetchAll(prefix: String, _ db: Database) throws -> [KeyValue] {
    let (condition, arguments) = prefixCondition(prefix)
    return try Row.fetchAll(
      db, sql: "SELECT \(columns) FROM kv WHERE \(condition) ORDER BY key", arguments: arguments
    ).map(keyValue)
  }

  static func keys(prefix: String, _ db: Database) throws -> [String] {
    let (condition, arguments) = prefixCondition(prefix)
    return try String.fetchAll(
      db, sql: "SELECT key FROM kv WHERE \(condition) ORDER BY key", arguments: arguments)
  }

  static func keys(attachedTo lease: LeaseID, _ db: Database) throws -> [String] {
    try String.fetchAll(
      db, sql: "SELECT key FROM kv WHERE lease = ? ORDER BY key", arguments: [lease.rawValue])
  }

  static func upsert(_ keyValue: KeyValue, _ db: Database) throws {
    try db.execute(
      sql: """
        INSERT INTO kv (\(columns)) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value,
          createRevision = excluded.createRevision, modRevision = excluded.modRevision,
          version = excluded.version, lease = excluded.lease
        """,
      arguments: [
        keyValue.key, keyValue.value, keyValue.createRevision, keyValue.modRevision,
        keyValue.version, keyValue.lease?.rawValue,
      ])
  }

  static func remove(_ key: String, _ db: Database) throws {
    try db.execute(sql: "DELETE FROM kv WHERE key = ?", arguments: [key])
  }

  /// A SQL condition on `key` selecting the keys under `prefix`, with its arguments.
  static func prefixCondition(_ prefix: String) -> (String, StatementArguments) {
    if prefix.isEmpty { return ("1", []) }
    if let end = KeyPrefix.end(of: prefix) {
      return ("key >= ? AND key < ?", [prefix, end])
    }
    return ("key >= ?", [prefix])
  }

  private static func keyValue(_ row: Row) -> KeyValue {
    KeyValue(
      key: row["key"], value: row["value"], createRevision: row["createRevision"],
      modRevision: row["modRevision"], version: row["version"],
      lease: (row["lease"] as Int64?).map(LeaseID.init(rawValue:)))
  }
}
