import Foundation

/// The open watches of a store and the delivery of committed events to them.
///
/// Events are published from the database queue, after each commit, and watches are activated on
/// that same queue right after replaying their history: each watch thus receives every event
/// exactly once and in revision order. Continuations are resumed outside the lock, because
/// finishing a stream runs its `onTermination`, which removes the watcher under the lock.
final class WatcherRegistry: Sendable {
  typealias Continuation = AsyncThrowingStream<[WatchEvent], Error>.Continuation

  private struct Watcher {
    var prefix: String
    var fromRevision: Revision
    var continuation: Continuation
  }

  private struct State {
    var nextID: UInt64 = 1
    /// Reserved watches not yet activated (nil) or active.
    var watchers: [UInt64: Watcher?] = [:]
    var isClosed = false
  }

  private let state = LockedValue(State())

  /// The number of watches that are reserved or active.
  var count: Int { state.withLock { $0.watchers.count } }

  /// Reserves an id for a watch that is about to replay its history.
  func reserve() -> UInt64 {
    state.withLock { state in
      let id = state.nextID
      state.nextID += 1
      state.watchers[id] = .some(nil)
      return id
    }
  }

  /// Makes a reserved watch live. Returns false when it was removed meanwhile (its consumer went
  /// away) or the registry is closed.
  func activate(
    _ id: UInt64, prefix: String, fromRevision: Revision, continuation: Continuation
  ) -> Bool {
    state.withLock { state in
      guard !state.isClosed, state.watchers[id] != nil else { return false }
      state.watchers[id] = Watcher(
        prefix: prefix, fromRevision: fromRevision, continuation: continuation)
      return true
    }
  }

  func remove(_ id: UInt64) {
    state.withLock { _ = $0.watchers.removeValue(forKey: id) }
  }

  /// Delivers committed batches, each to the watches whose prefix and start revision it concerns.
  func publish(_ batches: [EventBatch]) {
    let watchers = state.withLock { $0.watchers.values.compactMap { $0 } }
    for watcher in watchers {
      for batch in batches where batch.revision >= watcher.fromRevision {
        let events = batch.events.filter { KeyPrefix.matches($0.key, prefix: watcher.prefix) }
        if !events.isEmpty { watcher.continuation.yield(events) }
      }
    }
  }

  /// Finishes every watch with `error` and refuses new ones.
  func close(with error: any Error) {
    let watchers = state.withLock { state in
      state.isClosed = true
      defer { state.watchers.removeAll() }
      return state.watchers.values.compactMap { $0 }
    }
    for watcher in watchers {
      watcher.continuation.finish(throwing: error)
    }
  }
}
