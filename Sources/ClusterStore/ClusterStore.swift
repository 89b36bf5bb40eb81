import Foundation
import KazeModel

/// The store-wide revision: a counter that grows by one with every transaction that changes
/// at least one key. `0` is the revision of an empty store that never saw a write.
public typealias Revision = Int64

/// The revisioned key-value store through which all of Kaze's coordination goes.
///
/// The semantics are those of etcd v3, so that the embedded SQLite store and an etcd-backed store
/// are interchangeable:
/// - every write transaction produces exactly one new revision, shared by all of its writes;
/// - every key carries the revision that created it, the revision that last modified it, and a
///   version that counts its writes since creation (it starts over after a delete);
/// - deleting an absent key changes nothing: no new revision, no event;
/// - a watch replays every retained event from a start revision, then follows live writes, so that
///   `watch(prefix:fromRevision: list(prefix:).revision + 1)` misses nothing;
/// - keys attached to a lease are deleted, with delete events, when the lease expires or is
///   revoked.
///
/// Keys are non-empty strings, ordered by their UTF-8 bytes. Errors are `KazeError`s: `.conflict`
/// for a failed compare-and-swap, `.notFound` for an unknown or expired lease, `.compacted` for a
/// watch that starts before the retained history, `.invalidArgument` for bad input and
/// `.unavailable` when the backend cannot be reached or written.
public protocol ClusterStore: Sendable {
  /// The key's current value and metadata, or nil when the key does not exist.
  func get(_ key: String) async throws -> KeyValue?

  /// Every key that starts with `prefix` (all keys for an empty prefix), sorted by key, together
  /// with the store revision at which they were read.
  func list(prefix: String) async throws -> (items: [KeyValue], revision: Revision)

  /// Writes `value` at `key` and returns the new revision.
  ///
  /// - Parameters:
  ///   - lease: attaches the key to a lease (nil detaches it from any lease it had).
  ///   - ifModRevision: writes only when the key's modRevision equals this value, `0` meaning
  ///     "only when the key does not exist"; otherwise throws `.conflict` and changes nothing.
  @discardableResult
  func put(
    _ key: String, _ value: Data, lease: LeaseID?, ifModRevision: Revision?
  ) async throws
    -> Revision

  /// Deletes `key` and returns whether it existed.
  ///
  /// - Parameter ifModRevision: deletes only when the key's modRevision equals this value;
  ///   otherwise throws `.conflict` and changes nothing.
  @discardableResult
  func delete(_ key: String, ifModRevision: Revision?) async throws -> Bool

  /// Atomically evaluates `compares`; runs `then` when all hold and `else` otherwise. All writes of
  /// the chosen branch share one new revision.
  func txn(if compares: [Compare], then: [TxnOp], else: [TxnOp]) async throws -> TxnResult

  /// Every event on keys under `prefix` with a modRevision of at least `fromRevision`, in revision
  /// order and batched per revision, followed by live events as they are committed.
  ///
  /// A `fromRevision` of `0` or less means "from now on": only writes committed after the watch is
  /// established. A start revision older than the retained history finishes the stream with
  /// `.compacted`. The stream stays open until the consumer stops iterating it (the watcher is
  /// then removed) or the store closes (the stream then finishes with `.unavailable`). Events
  /// are buffered for a slow consumer without bound, so consumers should keep iterating.
  func watch(prefix: String, fromRevision: Revision) -> AsyncThrowingStream<[WatchEvent], Error>

  /// Creates a lease that expires `ttl` after now, or after its last keep-alive.
  func grantLease(ttl: Duration) async throws -> LeaseID

  /// Pushes the lease's expiry back to a full TTL from now. Throws `.notFound` once the lease has
  /// expired or been revoked.
  func keepAlive(_ lease: LeaseID) async throws

  /// Ends the lease now and deletes every key attached to it (emitting delete events). Throws
  /// `.notFound` for an unknown or already expired lease.
  func revokeLease(_ lease: LeaseID) async throws

  /// The store revision now.
  func currentRevision() async throws -> Revision

  /// Discards the event history of every revision before `revision`; watches starting there fail
  /// with `.compacted` afterwards. Keys and their current values are untouched. Throws
  /// `.invalidArgument` for a revision beyond the current one.
  func compactHistory(before revision: Revision) async throws

  /// Stops background work (lease expiry), finishes every open watch and releases the backend.
  /// Every later call throws `.unavailable`. Closing twice is harmless.
  func close() async

  /// The backend's members and whether it has quorum, for `kaze cluster status`.
  func storeStatus() async -> StoreStatus
}
