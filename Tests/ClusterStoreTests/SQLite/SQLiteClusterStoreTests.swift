import Foundation
import KazeModel
import Testing

@testable import ClusterStore

@Suite("SQLite cluster store")
struct SQLiteClusterStoreTests {
  @Test("history beyond the configured retention is compacted")
  func historyRetention() async throws {
    let store = try SQLiteClusterStore(
      location: .inMemory, options: .init(historyRetention: 5))
    for index in 1...20 { try await store.put("/k", "\(index)".bytes) }

    let tooOld = WatchRecorder(store.watch(prefix: "/", fromRevision: 1))
    try await tooOld.waitUntilFinished()
    #expect((tooOld.error as? KazeError)?.code == .compacted)

    let retained = WatchRecorder(store.watch(prefix: "/", fromRevision: 16))
    let events = try await retained.waitForEvents(5)
    #expect(events.map(\.modRevision) == [16, 17, 18, 19, 20])
    #expect(events.last?.value == "20".bytes)
    retained.stop()
    await store.close()
  }

  @Test("a consumer that stops iterating removes its watcher")
  func stoppedIterationRemovesWatcher() async throws {
    let store = try SQLiteClusterStore(location: .inMemory)
    let start = try await store.put("/a", Data())

    let consumer = Task {
      for try await _ in store.watch(prefix: "/", fromRevision: start) { break }
    }
    try await consumer.value
    let cancelled = WatchRecorder(store.watch(prefix: "/", fromRevision: start))
    try await cancelled.waitForEvents(1)
    cancelled.stop()

    try await eventually("every watcher is removed") { store.openWatchCount == 0 }
    try await store.put("/b", Data())
    #expect(store.openWatchCount == 0)
    await store.close()
  }

  @Test("a dropped stream that was never iterated removes its watcher")
  func droppedStreamRemovesWatcher() async throws {
    let store = try SQLiteClusterStore(location: .inMemory)
    do {
      let stream = store.watch(prefix: "/", fromRevision: 0)
      _ = stream
    }
    try await eventually("the watcher is removed") { store.openWatchCount == 0 }
    await store.close()
  }

  @Test("a lease whose deadline passed while the store was closed expires when it reopens")
  func leaseExpiresOnReopen() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let path = directory.url.appendingPathComponent("store.sqlite").path
    // No periodic check during the test: only the check on opening can expire the lease.
    let options = SQLiteClusterStore.Options(leaseCheckInterval: .seconds(3600))

    let first = try SQLiteClusterStore(path: path, options: options)
    let lease = try await first.grantLease(ttl: .seconds(2))
    let start = try await first.put("/node/alive", Data(), lease: lease)
    await first.close()

    // Let the wall-clock deadline pass while the store is closed.
    try await Task.sleep(for: .seconds(3))
    let second = try SQLiteClusterStore(path: path, options: options)
    #expect(try await second.get("/node/alive") == nil)
    await expectKazeError(.notFound) { try await second.keepAlive(lease) }
    let recorder = WatchRecorder(second.watch(prefix: "/node/", fromRevision: start))
    let events = try await recorder.waitForEvents(2)
    #expect(events.map(\.kind) == [.put, .delete])
    recorder.stop()
    await second.close()
  }

  @Test("a store file is created with its missing parent directories, in WAL mode")
  func createsDirectories() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let path = directory.url.appendingPathComponent("nested/deeper/store.sqlite").path
    let store = try SQLiteClusterStore(path: path)
    try await store.put("/a", Data())
    #expect(FileManager.default.fileExists(atPath: path))
    #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    await store.close()
  }

  @Test("compacting beyond the current revision is an invalid argument")
  func compactFuture() async throws {
    let store = try SQLiteClusterStore(location: .inMemory)
    let revision = try await store.put("/a", Data())
    await expectKazeError(.invalidArgument) { try await store.compactHistory(before: revision + 1) }
    await store.close()
  }

  @Test("a prefix's end increments its last scalar, skipping surrogates and carrying past U+10FFFF")
  func prefixEnd() {
    #expect(KeyPrefix.end(of: "a/b") == "a/c")
    #expect(KeyPrefix.end(of: "") == nil)
    #expect(KeyPrefix.end(of: "a\u{D7FF}") == "a\u{E000}")
    #expect(KeyPrefix.end(of: "a\u{10FFFF}") == "b")
    #expect(KeyPrefix.end(of: "\u{10FFFF}") == nil)
    #expect(KeyPrefix.matches("é/x", prefix: "é"))
    #expect(!KeyPrefix.matches("e\u{301}/x", prefix: "é"))
  }

  @Test("lease TTLs round up to whole milliseconds")
  func ttlMilliseconds() {
    #expect(SQLiteClusterStore.milliseconds(.seconds(2)) == 2000)
    #expect(SQLiteClusterStore.milliseconds(.microseconds(1)) == 1)
    #expect(SQLiteClusterStore.milliseconds(.milliseconds(1500)) == 1500)
  }
}
