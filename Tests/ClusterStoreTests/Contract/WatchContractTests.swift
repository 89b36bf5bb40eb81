import ClusterStore
import Foundation
import KazeModel
import Testing

@Suite("Cluster store contract: watches")
struct WatchContractTests {
  @Test(
    "a watch from an old revision replays history in order, one batch per revision, then goes live",
    arguments: StoreFactory.all)
  func replayThenLive(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let first = try await store.put("/w/a", "1".bytes)
      try await store.put("/w/b", "1".bytes)
      try await store.put("/w/a", "2".bytes)
      try await store.delete("/w/b")
      let recorder = WatchRecorder(store.watch(prefix: "/w/", fromRevision: first))
      let replayed = try await recorder.waitForEvents(4)
      #expect(replayed.map(\.kind) == [.put, .put, .put, .delete])
      #expect(replayed.map(\.key) == ["/w/a", "/w/b", "/w/a", "/w/b"])
      #expect(replayed.map(\.modRevision) == [first, first + 1, first + 2, first + 3])
      #expect(replayed[2].value == "2".bytes)
      #expect(replayed[2].createRevision == first)
      #expect(replayed[2].version == 2)
      #expect(recorder.batches.count == 4)

      let live = try await store.put("/w/c", "live".bytes)
      let all = try await recorder.waitForEvents(5)
      #expect(
        all.last
          == WatchEvent(
            kind: .put, key: "/w/c", value: "live".bytes, modRevision: live, createRevision: live,
            version: 1))
      #expect(recorder.error == nil)
      recorder.stop()
    }
  }

  @Test(
    "a watch started at list revision + 1 misses no write committed in between",
    arguments: StoreFactory.all)
  func watchAfterList(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      try await store.put("/vms/a", "1".bytes)
      let (items, revision) = try await store.list(prefix: "/vms/")
      #expect(items.count == 1)
      // Writes land after the list but before the watch exists.
      let b = try await store.put("/vms/b", "1".bytes)
      try await store.delete("/vms/a")
      let recorder = WatchRecorder(store.watch(prefix: "/vms/", fromRevision: revision + 1))
      let c = try await store.put("/vms/c", "1".bytes)
      let events = try await recorder.waitForEvents(3)
      #expect(events.map(\.key) == ["/vms/b", "/vms/a", "/vms/c"])
      #expect(events.map(\.kind) == [.put, .delete, .put])
      #expect(events.first?.modRevision == b)
      #expect(events.last?.modRevision == c)
      recorder.stop()
    }
  }

  @Test(
    "no event is lost or duplicated while writers race a starting watch",
    arguments: StoreFactory.all)
  func racingWriters(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let start = try await store.currentRevision() + 1
      let writer = Task {
        for index in 0..<50 { try await store.put("/race/\(index)", Data()) }
      }
      let recorder = WatchRecorder(store.watch(prefix: "/race/", fromRevision: start))
      try await writer.value
      let events = try await recorder.waitForEvents(50)
      #expect(events.map(\.key) == (0..<50).map { "/race/\($0)" })
      #expect(events.map(\.modRevision) == (0..<50).map { start + Revision($0) })
      recorder.stop()
    }
  }

  @Test("a watch sees only keys under its prefix", arguments: StoreFactory.all)
  func prefixFilter(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let start = try await store.currentRevision() + 1
      let recorder = WatchRecorder(store.watch(prefix: "a/b/", fromRevision: start))
      try await store.put("a/bc", Data())
      try await store.put("a/b", Data())
      try await store.put("a/b/1", Data())
      let events = try await recorder.waitForEvents(1)
      #expect(events.map(\.key) == ["a/b/1"])
      recorder.stop()
    }
  }

  @Test(
    "delete events carry the key and the deleting revision, with an empty value; deleting an absent key emits nothing",
    arguments: StoreFactory.all)
  func deleteEvents(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let start = try await store.put("/d/a", "value".bytes)
      try await store.delete("/d/absent")
      try await store.delete("/d/a")
      let deleted = try await store.currentRevision()
      try await store.put("/d/marker", Data())
      let recorder = WatchRecorder(store.watch(prefix: "/d/", fromRevision: start))
      let events = try await recorder.waitForEvents(3)
      #expect(events.map(\.key) == ["/d/a", "/d/a", "/d/marker"])
      #expect(events[1].kind == .delete)
      #expect(events[1].value.isEmpty)
      #expect(events[1].modRevision == deleted)
      recorder.stop()
    }
  }

  @Test("a transaction arrives as one batch", arguments: StoreFactory.all)
  func transactionBatch(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      try await store.put("/t/old", Data())
      let start = try await store.currentRevision() + 1
      let recorder = WatchRecorder(store.watch(prefix: "/t/", fromRevision: start))
      let result = try await store.txn(
        if: [], then: [.put("/t/a", Data()), .put("/t/b", Data()), .delete("/t/old")])
      try await recorder.waitForEvents(3)
      #expect(recorder.batches.count == 1)
      #expect(recorder.events.allSatisfy { $0.modRevision == result.revision })
      #expect(recorder.events.map(\.key) == ["/t/a", "/t/b", "/t/old"])
      recorder.stop()
    }
  }

  @Test(
    "a watch from revision 0 delivers only writes committed after it started",
    arguments: StoreFactory.all)
  func watchFromNow(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      try await store.put("/n/before", Data())
      let recorder = WatchRecorder(store.watch(prefix: "/n/"))
      // A watch from now has no replay to synchronise on: write until the first event arrives.
      try await eventually("the watch delivers a live write") {
        try await store.put("/n/after", Data())
        return !recorder.events.isEmpty
      }
      #expect(recorder.events.allSatisfy { $0.key == "/n/after" })
      recorder.stop()
    }
  }

  @Test(
    "a watch from a compacted revision fails with compacted; from the compaction point it works",
    arguments: StoreFactory.all)
  func compactedWatch(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let first = try await store.put("/c/a", "1".bytes)
      try await store.put("/c/a", "2".bytes)
      let kept = try await store.put("/c/a", "3".bytes)
      try await store.compactHistory(before: kept)

      let tooOld = WatchRecorder(store.watch(prefix: "/c/", fromRevision: first))
      try await tooOld.waitUntilFinished()
      #expect((tooOld.error as? KazeError)?.code == .compacted)
      #expect(tooOld.events.isEmpty)

      let fromKept = WatchRecorder(store.watch(prefix: "/c/", fromRevision: kept))
      let events = try await fromKept.waitForEvents(1)
      #expect(events.map(\.modRevision) == [kept])
      #expect(try await store.get("/c/a")?.value == "3".bytes)
      fromKept.stop()
    }
  }

  @Test("closing the store ends its open watches", arguments: StoreFactory.all)
  func closeEndsWatches(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let start = try await store.put("/x", Data())
      let recorder = WatchRecorder(store.watch(prefix: "/", fromRevision: start))
      try await recorder.waitForEvents(1)
      await store.close()
      try await recorder.waitUntilFinished()
      #expect((recorder.error as? KazeError)?.code == .unavailable)
    }
  }
}
