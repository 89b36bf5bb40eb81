import Foundation
import GRDB
import KazeModel
import Logging

/// The embedded cluster store: one SQLite database (WAL mode) accessed through a GRDB
/// `DatabaseQueue`, which serialises every read and write.
///
/// Lease deadlines are wall-clock times stored in the database. A background task expires due
/// leases every `Options.leaseCheckInterval`; on opening, leases whose deadline passed while the
/// store was closed (or the process down) expire at once, before the store is returned. A
/// wall-clock jump forwards therefore expires leases early, and one backwards delays expiry.
///
/// Call `close()` when done: it stops the expiry task and finishes open watches.
public final class SQLiteClusterStore: ClusterStore {
  /// Where the database lives.
  public enum Location: Sendable, Equatable {
    /// A database file, created with its parent directories when missing.
    case file(String)
    /// A private in-memory database, gone when the store closes (for tests).
    case inMemory
  }

  public struct Options: Sendable {
    /// How many of the latest revisions keep their events for replaying watches; watches from an
    /// older revision fail with `.compacted`.
    public var historyRetention: Int64
    /// How often due leases are looked for.
    public var leaseCheckInterval: Duration

    public init(
      historyRetention: Int64 = 10_000, leaseCheckInterval: Duration = .milliseconds(100)
    ) {
      self.historyRetention = max(1, historyRetention)
      self.leaseCheckInterval = leaseCheckInterval
    }
  }

  private struct Lifecycle {
    var isClosed = false
    var leaseExpiry: Task<Void, Never>?
  }

  let database: DatabaseQueue
  let options: Options
  let logger: Logger
  let watchers = WatcherRegistry()
  private let lifecycle = LockedValue(Lifecycle())

  /// Opens (or creates) the store, expires leases that are already due and starts the lease
  /// expiry task.
  public init(
    location: Location, options: Options = Options(),
    logger: Logger = Logger(label: "kaze.cluster-store")
  ) throws {
    self.options = options
    self.logger = logger
    var configuration = Configuration()
    configuration.label = "kaze.cluster-store"
    do {
      switch location {
      case .file(let path):
        configuration.journalMode = .wal
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        database = try DatabaseQueue(path: path, configuration: configuration)
      case .inMemory:
        database = try DatabaseQueue(configuration: configuration)
      }
      try SQLiteSchema.migrator.migrate(database)
      let expired = try database.write { db in
        var batches: [EventBatch] = []
        return try Self.expireDueLeases(
          db, now: Self.wallClockMilliseconds(), historyRetention: options.historyRetention,
          into: &batches)
      }
      if expired > 0 {
        logger.info("expired leases that fell due while closed", metadata: ["count": "\(expired)"])
      }
    } catch {
      throw Self.storeError(error, "open the cluster store at \(location)")
    }
    startLeaseExpiry()
  }

  /// Opens (or creates) the store in the database file at `path`.
  public convenience init(
    path: String, options: Options = Options(),
    logger: Logger = Logger(label: "kaze.cluster-store")
  ) throws {
    try self.init(location: .file(path), options: options, logger: logger)
  }

  deinit {
    lifecycle.withLock { $0.leaseExpiry?.cancel() }
    watchers.close(with: KazeError(.unavailable, "the cluster store was released"))
  }

  public func close() async {
    let (wasOpen, leaseExpiry) = lifecycle.withLock { lifecycle in
      defer { lifecycle.isClosed = true }
      return (!lifecycle.isClosed, lifecycle.leaseExpiry)
    }
    guard wasOpen else { return }
    leaseExpiry?.cancel()
    await leaseExpiry?.value
    watchers.close(with: Self.closedError)
    do {
      try database.close()
    } catch {
      logger.warning("closing the cluster store failed", metadata: ["error": "\(error)"])
    }
  }

  /// The number of open watches (for diagnostics and leak tests).
  public var openWatchCount: Int { watchers.count }

  public func currentRevision() async throws -> Revision {
    try await read("read the revision") { db in try MetaCounter.revision.read(db) }
  }

  public func compactHistory(before revision: Revision) async throws {
    try await write("compact history") { db, _ in
      let current = try MetaCounter.revision.read(db)
      guard revision <= current else {
        throw KazeError(
          .invalidArgument,
          "cannot compact before revision \(revision): the store is at \(current)",
          field: "revision")
      }
      guard revision > (try MetaCounter.historyStart.read(db)) else { return }
      try MetaCounter.historyStart.write(revision, db)
      try HistoryTable.discard(before: revision, db)
    }
  }

  // MARK: - Database access

  /// Runs a read transaction.
  func read<T: Sendable>(
    _ operation: String, _ body: @Sendable (Database) throws -> T
  )
    async throws -> T
  {
    try await access(operation) { db in
      var result: T?
      try db.inTransaction(.deferred) {
        result = try body(db)
        return .commit
      }
      return result!
    }
  }

  /// Runs a write transaction and, once it commits, publishes the event batches it collected.
  func write<T: Sendable>(
    _ operation: String, _ body: @Sendable (Database, inout [EventBatch]) throws -> T
  ) async throws -> T {
    let watchers = self.watchers
    return try await access(operation) { db in
      var result: T?
      try db.inTransaction(.immediate) {
        var batches: [EventBatch] = []
        result = try body(db, &batches)
        if !batches.isEmpty {
          let committed = batches
          db.afterNextTransaction(onCommit: { _ in watchers.publish(committed) })
        }
        return .commit
      }
      return result!
    }
  }

  /// Runs `body` on the database queue unless the store is closed. The check happens on the queue
  /// itself, so nothing touches the connection after `close()` closed it. Failures other than
  /// `KazeError`s and cancellation become `.unavailable`.
  private func access<T: Sendable>(
    _ operation: String, _ body: @Sendable (Database) throws -> T
  )
    async throws -> T
  {
    let lifecycle = self.lifecycle
    do {
      return try await database.writeWithoutTransaction { db in
        if lifecycle.withLock({ $0.isClosed }) { throw Self.closedError }
        return try body(db)
      }
    } catch {
      throw Self.storeError(error, operation)
    }
  }

  private var isClosed: Bool { lifecycle.withLock { $0.isClosed } }

  static let closedError = KazeError(.unavailable, "the cluster store is closed")

  /// `KazeError`s and cancellation pass through; anything else is a failing backend.
  static func storeError(_ error: any Error, _ operation: String) -> any Error {
    if error is KazeError || error is CancellationError { return error }
    return KazeError(
      .unavailable, "cluster store: cannot \(operation)", cause: String(describing: error))
  }

  static func wallClockMilliseconds() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
  }

  static func validate(key: String, field: String = "key") throws {
    if key.isEmpty { throw KazeError.invalid(field, "a key must not be empty") }
  }

  // MARK: - Lease expiry

  private func startLeaseExpiry() {
    let interval = options.leaseCheckInterval
    let task = Task { [weak self] in
      while !Task.isCancelled {
        try? await Task.sleep(for: interval)
        guard let self, !Task.isCancelled else { return }
        await self.expireDueLeases()
      }
    }
    lifecycle.withLock { $0.leaseExpiry = task }
  }

  private func expireDueLeases() async {
    let retention = options.historyRetention
    do {
      let expired = try await write("expire leases") { db, batches in
        try Self.expireDueLeases(
          db, now: Self.wallClockMilliseconds(), historyRetention: retention, into: &batches)
      }
      if expired > 0 { logger.debug("expired leases", metadata: ["count": "\(expired)"]) }
    } catch {
      guard !isClosed, !(error is CancellationError) else { return }
      logger.warning("expiring leases failed", metadata: ["error": "\(error)"])
    }
  }

  /// Revokes every lease due at `now`, each at its own revision, as etcd does.
  static func expireDueLeases(
    _ db: Database, now: Int64, historyRetention: Int64, into batches: inout [EventBatch]
  ) throws -> Int {
    let due = try LeaseTable.expired(at: now, db)
    for lease in due {
      var writer = try RevisionWriter(db, now: now)
      try writer.revoke(lease)
      try writer.commit(historyRetention: historyRetention, into: &batches)
    }
    return due.count
  }
}
