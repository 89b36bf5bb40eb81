import GRDB

/// The tables of the SQLite cluster store.
///
/// - `meta`: named counters: the store revision, the first revision whose history is kept and the
///   next lease id.
/// - `kv`: the current keys, with etcd metadata and their lease.
/// - `history`: every event of the retained revisions, to replay watches.
/// - `leases`: live leases with their TTL and wall-clock deadline (milliseconds since 1970), so
///   that a lease whose deadline passed while the process was down expires as soon as the store
///   reopens.
enum SQLiteSchema {
  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1") { db in
      try db.execute(
        sql: """
          CREATE TABLE meta (
            name TEXT PRIMARY KEY NOT NULL,
            value INTEGER NOT NULL
          ) WITHOUT ROWID;
          INSERT INTO meta (name, value) VALUES
            ('\(MetaCounter.revision.rawValue)', 0),
            ('\(MetaCounter.historyStart.rawValue)', 0),
            ('\(MetaCounter.nextLeaseID.rawValue)', 1);

          CREATE TABLE kv (
            key TEXT NOT NULL UNIQUE,
            value BLOB NOT NULL,
            createRevision INTEGER NOT NULL,
            modRevision INTEGER NOT NULL,
            version INTEGER NOT NULL,
            lease INTEGER
          );
          CREATE INDEX kv_by_lease ON kv (lease) WHERE lease IS NOT NULL;

          CREATE TABLE history (
            revision INTEGER NOT NULL,
            position INTEGER NOT NULL,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            value BLOB NOT NULL,
            createRevision INTEGER NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (revision, position)
          );

          CREATE TABLE leases (
            id INTEGER PRIMARY KEY NOT NULL,
            ttlMilliseconds INTEGER NOT NULL,
            deadline INTEGER NOT NULL
          );
          CREATE INDEX leases_by_deadline ON leases (deadline);
          """)
    }
    return migrator
  }
}

/// The counters of the `meta` table.
enum MetaCounter: String {
  /// The store revision.
  case revision
  /// The oldest revision a watch may start from; history before it is discarded.
  case historyStart
  /// The id the next granted lease gets.
  case nextLeaseID

  func read(_ db: Database) throws -> Int64 {
    try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = ?", arguments: [rawValue])
      ?? 0
  }

  func write(_ value: Int64, _ db: Database) throws {
    try db.execute(
      sql: "UPDATE meta SET value = ? WHERE name = ?", arguments: [value, rawValue])
  }
}
