import AsyncHTTPClient
import Foundation
import KazeModel
import NIOCore

extension EtcdClusterStore {
  /// A watch on etcd's streaming `/v3/watch`. When the member it streams from goes away, the
  /// watch reconnects (to any member) from the revision after the last one it delivered, so a
  /// member restart loses no event. A start revision that etcd has compacted ends the stream
  /// with `.compacted`; the caller lists again and watches from the list's revision.
  public func watch(
    prefix: String, fromRevision: Revision
  ) -> AsyncThrowingStream<[WatchEvent], Error> {
    let (stream, continuation) = AsyncThrowingStream<[WatchEvent], Error>.makeStream()
    let id = UUID()
    let task = Task { [self] in
      do {
        try await runWatch(prefix: prefix, fromRevision: fromRevision, continuation: continuation)
        continuation.finish()
      } catch is CancellationError {
        let closed = state.withLock { $0.closed }
        continuation.finish(
          throwing: closed ? KazeError(.unavailable, "the etcd store was closed") : nil)
      } catch {
        continuation.finish(throwing: error)
      }
      _ = state.withLock { $0.watches.removeValue(forKey: id) }
    }
    let registered = state.withLock { state -> Bool in
      guard !state.closed else { return false }
      state.watches[id] = task
      return true
    }
    if !registered {
      task.cancel()
    }
    continuation.onTermination = { [weak self] _ in
      task.cancel()
      _ = self?.state.withLock { $0.watches.removeValue(forKey: id) }
    }
    return stream
  }

  private func runWatch(
    prefix: String, fromRevision: Revision,
    continuation: AsyncThrowingStream<[WatchEvent], Error>.Continuation
  ) async throws {
    let cursor = WatchCursor(fromRevision > 0 ? fromRevision : nil)
    var attempt = 0
    while true {
      try Task.checkCancellation()
      if state.withLock({ $0.closed }) { throw CancellationError() }
      let endpoint = endpoints[(state.withLock { $0.preferred } + attempt) % endpoints.count]
      // Each connection runs as a task of its own, so that the member check can end it when its
      // member goes silent (see `checkWatchedMembers`).
      let id = UUID()
      let connection = Task {
        try await self.stream(
          from: endpoint, prefix: prefix, cursor: cursor, continuation: continuation)
      }
      openConnection(id, endpoint: endpoint, task: connection)
      do {
        try await withTaskCancellationHandler {
          try await connection.value
        } onCancel: {
          connection.cancel()
        }
        closeConnection(id)
        attempt = 0
      } catch let error as KazeError where error.code == .compacted {
        closeConnection(id)
        throw error
      } catch {
        let silent = closeConnection(id)
        if Task.isCancelled { throw CancellationError() }
        logger.debug(
          "etcd watch on \(endpoint) ended: \(silent ? "the member stopped answering" : "\(error)"); reconnecting"
        )
        attempt += 1
        try await Task.sleep(for: .milliseconds(attempt % endpoints.count == 0 ? 300 : 20))
      }
    }
  }

  /// Streams one watch connection until it ends; `cursor` tracks the first revision not yet
  /// delivered.
  private func stream(
    from endpoint: String, prefix: String, cursor: WatchCursor,
    continuation: AsyncThrowingStream<[WatchEvent], Error>.Continuation
  ) async throws {
    let body = EtcdWire.WatchCreate(
      create_request: .init(
        key: prefix.isEmpty ? Data([0]) : Self.bytes(prefix),
        range_end: Self.rangeEnd(ofPrefix: prefix), start_revision: cursor.next.map { .init($0) }))
    var request = HTTPClientRequest(url: endpoint + "/v3/watch")
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json")
    request.body = .bytes(ByteBuffer(bytes: try JSONEncoder.etcd.encode(body)))
    let response = try await http.execute(request, deadline: .distantFuture)
    guard response.status == .ok else {
      throw KazeError(.unavailable, "etcd watch answered \(response.status.code)")
    }
    var buffer = Data()
    for try await chunk in response.body {
      buffer.append(contentsOf: chunk.readableBytesView)
      while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
        let line = buffer[buffer.startIndex..<newline]
        buffer.removeSubrange(buffer.startIndex...newline)
        guard !line.allSatisfy({ $0 == 32 || $0 == 13 }) else { continue }
        let message = try JSONDecoder.etcd.decode(EtcdWire.WatchMessage.self, from: Data(line))
        if let error = message.error {
          throw KazeError(.unavailable, "etcd watch: \(error.message ?? error.error ?? "error")")
        }
        guard let result = message.result else { continue }
        if result.created == true, cursor.next == nil,
          let revision = result.header?.revision?.value
        {
          cursor.next = revision + 1
        }
        if let compacted = result.compact_revision?.value, compacted > 0 {
          throw KazeError(
            .compacted,
            "revision \(cursor.next ?? 0) of '\(prefix)' is compacted (etcd keeps revisions from \(compacted)); list again"
          )
        }
        if result.canceled == true {
          throw KazeError(
            .unavailable, "etcd cancelled the watch: \(result.cancel_reason ?? "no reason")")
        }
        let events = (result.events ?? []).map(Self.watchEvent)
        // A connection the member check gave up on delivers nothing more: its replacement
        // starts from the cursor.
        try Task.checkCancellation()
        for batch in WatchEvent.batchedByRevision(events) {
          continuation.yield(batch)
          cursor.next = (batch.last?.modRevision ?? 0) + 1
        }
      }
    }
    throw KazeError(.unavailable, "etcd closed the watch stream")
  }

  static func watchEvent(_ event: EtcdWire.Event) -> WatchEvent {
    let kv = keyValue(event.kv)
    if event.type == "DELETE" {
      return WatchEvent(
        kind: .delete, key: kv.key, value: Data(), modRevision: kv.modRevision, createRevision: 0,
        version: 0)
    }
    return WatchEvent(
      kind: .put, key: kv.key, value: kv.value, modRevision: kv.modRevision,
      createRevision: kv.createRevision, version: kv.version)
  }
}
