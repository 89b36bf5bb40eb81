import Foundation
import GRDB
import KazeModel

/// Leases: granted with a TTL, pushed back by keep-alives, ended by revocation or expiry.
extension SQLiteClusterStore {
  public func grantLease(ttl: Duration) async throws -> LeaseID {
    let milliseconds = Self.milliseconds(ttl)
    guard milliseconds > 0 else { throw KazeError.invalid("ttl", "a lease TTL must be positive") }
    return try await write("grant a lease") { db, _ in
      let id = LeaseID(rawValue: try MetaCounter.nextLeaseID.read(db))
      try MetaCounter.nextLeaseID.write(id.rawValue + 1, db)
      try LeaseTable.save(
        LeaseRecord(
          id: id, ttlMilliseconds: milliseconds,
          deadline: Self.wallClockMilliseconds() + milliseconds), db)
      return id
    }
  }

  public func keepAlive(_ lease: LeaseID) async throws {
    let retention = options.historyRetention
    let found = try await write("keep lease \(lease) alive") { db, batches in
      let now = Self.wallClockMilliseconds()
      guard var record = try Self.liveLease(lease, now: now, retention, db, &batches) else {
        return false
      }
      record.deadline = now + record.ttlMilliseconds
      try LeaseTable.save(record, db)
      return true
    }
    if !found { throw Self.leaseNotFound(lease) }
  }

  public func revokeLease(_ lease: LeaseID) async throws {
    let retention = options.historyRetention
    let found = try await write("revoke lease \(lease)") { db, batches in
      let now = Self.wallClockMilliseconds()
      guard try Self.liveLease(lease, now: now, retention, db, &batches) != nil else {
        return false
      }
      var writer = try RevisionWriter(db, now: now)
      try writer.revoke(lease)
      try writer.commit(historyRetention: retention, into: &batches)
      return true
    }
    if !found { throw Self.leaseNotFound(lease) }
  }

  /// The lease when it exists and is not due. A due lease the expiry task has not reached yet is
  /// expired right here, so that callers see the same outcome whatever the timing of that task.
  private static func liveLease(
    _ lease: LeaseID, now: Int64, _ retention: Int64, _ db: Database,
    _ batches: inout [EventBatch]
  ) throws -> LeaseRecord? {
    guard let record = try LeaseTable.fetch(lease, db) else { return nil }
    guard record.isExpired(at: now) else { return record }
    var writer = try RevisionWriter(db, now: now)
    try writer.revoke(lease)
    try writer.commit(historyRetention: retention, into: &batches)
    return nil
  }

  private static func leaseNotFound(_ lease: LeaseID) -> KazeError {
    KazeError(.notFound, "lease \(lease) not found: it expired or was revoked")
  }

  /// The duration in whole milliseconds, rounded up so that a tiny TTL is not zero.
  static func milliseconds(_ duration: Duration) -> Int64 {
    let (seconds, attoseconds) = duration.components
    let partial = attoseconds / 1_000_000_000_000_000
    let remainder = attoseconds % 1_000_000_000_000_000
    return seconds * 1000 + partial + (remainder > 0 ? 1 : 0)
  }
}
