import Foundation
import GRDB

/// A row of the `leases` table.
struct LeaseRecord {
  var id: LeaseID
  var ttlMilliseconds: Int64
  /// Milliseconds since 1970.
  var deadline: Int64

  func isExpired(at now: Int64) -> Bool { deadline <= now }
}

/// Queries on the `leases` table.
enum LeaseTable {
  static func fetch(_ id: LeaseID, _ db: Database) throws -> LeaseRecord? {
    try Row.fetchOne(
      db, sql: "SELECT id, ttlMilliseconds, deadline FROM leases WHERE id = ?",
      arguments: [id.rawValue]
    ).map { row in
      LeaseRecord(
        id: LeaseID(rawValue: row["id"]), ttlMilliseconds: row["ttlMilliseconds"],
        deadline: row["deadline"])
    }
  }

  static func save(_ lease: LeaseRecord, _ db: Database) throws {
    try db.execute(
      sql: "INSERT OR REPLACE INTO leases (id, ttlMilliseconds, deadline) VALUES (?, ?, ?)",
      arguments: [lease.id.rawValue, lease.ttlMilliseconds, lease.deadline])
  }

  static func remove(_ id: LeaseID, _ db: Database) throws {
    try db.execute(sql: "DELETE FROM leases WHERE id = ?", arguments: [id.rawValue])
  }

  /// Leases whose deadline is at or before `now`, soonest first.
  static func expired(at now: Int64, _ db: Database) throws -> [LeaseID] {
    try Int64.fetchAll(
      db, sql: "SELECT id FROM leases WHERE deadline <= ? ORDER BY deadline, id", arguments: [now]
    ).map(LeaseID.init(rawValue:))
  }
}
