import Foundation
import GRDB
import KazeModel

/// The events committed at one revision, as published to watchers.
struct EventBatch: Sendable {
  var revision: Revision
  var events: [WatchEvent]
}

/// The writes of one store transaction: they all get the revision after the current one, which is
/// recorded (with the events in the history) only when something actually changed.
struct RevisionWriter {
  /// The revision the writes get.
  let revision: Revision
  private(set) var events: [WatchEvent] = []
  private let db: Database
  /// The wall clock at the start of the transaction, in milliseconds since 1970.
  private let now: Int64

  init(_ db: Database, now: Int64) throws {
    self.db = db
    self.now = now
    revision = try MetaCounter.revision.read(db) + 1
  }

  /// The revision of the store once this transaction commits.
  var resultingRevision: Revision { events.isEmpty ? revision - 1 : revision }

  mutating func put(_ key: String, _ value: Data, lease: LeaseID?) throws {
    if let lease {
      guard let record = try LeaseTable.fetch(lease, db), !record.isExpired(at: now) else {
        throw KazeError(.notFound, "lease \(lease) not found or expired")
      }
    }
    let existing = try KeyTable.fetch(key, db)
    let written = KeyValue(
      key: key, value: value, createRevision: existing?.createRevision ?? revision,
      modRevision: revision, version: (existing?.version ?? 0) + 1, lease: lease)
    try KeyTable.upsert(written, db)
    events.append(
      WatchEvent(
        kind: .put, key: key, value: value, modRevision: revision,
        createRevision: written.createRevision, version: written.version))
  }

  /// Deletes `key` and returns whether it existed; an absent key is no event.
  @discardableResult
  mutating func delete(_ key: String) throws -> Bool {
    try KeyTable.remove(key, db)
    guard db.changesCount > 0 else { return false }
    events.append(WatchEvent(kind: .delete, key: key, modRevision: revision))
    return true
  }

  mutating func deletePrefix(_ prefix: String) throws {
    for key in try KeyTable.keys(prefix: prefix, db) {
      try delete(key)
    }
  }

  /// Ends the lease and deletes the keys attached to it.
  mutating func revoke(_ lease: LeaseID) throws {
    for key in try KeyTable.keys(attachedTo: lease, db) {
      try delete(key)
    }
    try LeaseTable.remove(lease, db)
  }

  /// Records the revision and its events, discards history beyond `historyRetention` revisions and
  /// queues the events for watchers. Does nothing when nothing changed.
  func commit(historyRetention: Int64, into batches: inout [EventBatch]) throws {
    guard !events.isEmpty else { return }
    try MetaCounter.revision.write(revision, db)
    try HistoryTable.append(events, db)
    let oldestKept = revision - historyRetention + 1
    if oldestKept > (try MetaCounter.historyStart.read(db)) {
      try MetaCounter.historyStart.write(oldestKept, db)
      try HistoryTable.discard(before: oldestKept, db)
    }
    batches.append(EventBatch(revision: revision, events: events))
  }
}
