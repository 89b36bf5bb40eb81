import Foundation
import GRDB

/// Queries on the `history` table.
enum HistoryTable {
  static func append(_ events: [WatchEvent], _ db: Database) throws {
    for (position, event) in events.enumerated() {
      try db.execute(
        sql: """
          INSERT INTO history (revision, position, kind, key, value, createRevision, version)
          VALUES (?, ?, ?, ?, ?, ?, ?)
          """,
        arguments: [
          event.modRevision, position, event.kind.rawValue, event.key, event.value,
          event.createRevision, event.version,
        ])
    }
  }

  /// Events under `prefix` from `revision` on, in commit order.
  static func events(
    prefix: String, from revision: Revision, _ db: Database
  ) throws
    -> [WatchEvent]
  {
    let (condition, prefixArguments) = KeyTable.prefixCondition(prefix)
    var arguments: StatementArguments = [revision]
    arguments += prefixArguments
    return try Row.fetchAll(
      db,
      sql: """
        SELECT revision, kind, key, value, createRevision, version FROM history
        WHERE revision >= ? AND \(condition) ORDER BY revision, position
        """,
      arguments: arguments
    ).map { row in
      WatchEvent(
        kind: WatchEvent.Kind(rawValue: row["kind"]) ?? .put, key: row["key"],
        value: row["value"], modRevision: row["revision"],
        createRevision: row["createRevision"], version: row["version"])
    }
  }

  /// Discards the events of revisions before `revision`.
  static func discard(before revision: Revision, _ db: Database) throws {
    try db.execute(sql: "DELETE FROM history WHERE revision < ?", arguments: [revision])
  }
}
