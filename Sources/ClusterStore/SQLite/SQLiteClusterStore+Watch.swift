import Foundation
import GRDB
import KazeModel

/// Watches: a replay of the retained history, then live events.
extension SQLiteClusterStore {
  public func watch(
    prefix: String, fromRevision: Revision
  ) -> AsyncThrowingStream<
    [WatchEvent], Error
  > {
    let (stream, continuation) = AsyncThrowingStream.makeStream(of: [WatchEvent].self)
    let watchers = self.watchers
    let id = watchers.reserve()
    continuation.onTermination = { _ in watchers.remove(id) }
    Task {
      do {
        try await self.startWatch(
          id, prefix: prefix, fromRevision: fromRevision, continuation: continuation)
      } catch {
        watchers.remove(id)
        continuation.finish(throwing: error)
      }
    }
    return stream
  }

  /// Replays history and activates the watch in one go on the database queue, where commits
  /// publish their events too: nothing is missed or delivered twice.
  private func startWatch(
    _ id: UInt64, prefix: String, fromRevision: Revision,
    continuation: WatcherRegistry.Continuation
  ) async throws {
    let watchers = self.watchers
    try await read("watch '\(prefix)'") { db in
      let current = try MetaCounter.revision.read(db)
      let start = fromRevision > 0 ? fromRevision : current + 1
      let historyStart = try MetaCounter.historyStart.read(db)
      guard start >= historyStart else {
        throw KazeError(
          .compacted,
          "cannot watch from revision \(start): history before revision \(historyStart) was compacted",
          field: "fromRevision")
      }
      if start <= current {
        let events = try HistoryTable.events(prefix: prefix, from: start, db)
        for batch in WatchEvent.batchedByRevision(events) {
          continuation.yield(batch)
        }
      }
      let active = watchers.activate(
        id, prefix: prefix, fromRevision: start, continuation: continuation)
      if !active { continuation.finish(throwing: Self.closedError) }
    }
  }
}
