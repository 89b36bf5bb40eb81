import ClusterStore
import Foundation
import KazeModel
import Testing

@Suite("Cluster store contract: compare-and-swap")
struct CompareAndSwapContractTests {
  @Test("a put conditioned on the current modRevision succeeds", arguments: StoreFactory.all)
  func casPutSucceeds(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let written = try await store.put("/a", "1".bytes)
      let updated = try await store.put("/a", "2".bytes, ifModRevision: written)
      let stored = try #require(try await store.get("/a"))
      #expect(stored.value == "2".bytes)
      #expect(stored.modRevision == updated)
      #expect(stored.version == 2)
    }
  }

  @Test(
    "a put conditioned on a stale modRevision fails with conflict and changes nothing",
    arguments: StoreFactory.all)
  func casPutConflicts(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let first = try await store.put("/a", "1".bytes)
      try await store.put("/a", "2".bytes)
      let before = try await store.get("/a")
      let revision = try await store.currentRevision()
      await expectKazeError(.conflict) {
        try await store.put("/a", "3".bytes, ifModRevision: first)
      }
      #expect(try await store.get("/a") == before)
      #expect(try await store.currentRevision() == revision)
    }
  }

  @Test(
    "a create-only put (ifModRevision 0) succeeds on an absent key, then conflicts",
    arguments: StoreFactory.all)
  func createOnly(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      try await store.put("/a", "first".bytes, ifModRevision: 0)
      await expectKazeError(.conflict) { try await store.create("/a", "second".bytes) }
      #expect(try await store.get("/a")?.value == "first".bytes)
    }
  }

  @Test(
    "a put conditioned on a revision for an absent key fails with conflict",
    arguments: StoreFactory.all)
  func casOnAbsentKey(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let revision = try await store.put("/other", Data())
      await expectKazeError(.conflict) {
        try await store.put("/a", "1".bytes, ifModRevision: revision)
      }
      #expect(try await store.get("/a") == nil)
    }
  }

  @Test(
    "a delete conditioned on the current modRevision deletes; on a stale one it conflicts",
    arguments: StoreFactory.all)
  func casDelete(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let stale = try await store.put("/a", "1".bytes)
      let current = try await store.put("/a", "2".bytes)
      let revision = try await store.currentRevision()
      await expectKazeError(.conflict) { try await store.delete("/a", ifModRevision: stale) }
      #expect(try await store.get("/a")?.value == "2".bytes)
      #expect(try await store.currentRevision() == revision)
      #expect(try await store.delete("/a", ifModRevision: current))
      #expect(try await store.get("/a") == nil)
      await expectKazeError(.conflict) { try await store.delete("/a", ifModRevision: current) }
    }
  }

  @Test(
    "concurrent read-modify-write loops with CAS never lose an update", arguments: StoreFactory.all)
  func concurrentIncrements(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      try await store.putJSON("/counter", 0)
      try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<8 {
          group.addTask {
            for _ in 0..<10 {
              try await Self.increment("/counter", in: store)
            }
          }
        }
        try await group.waitForAll()
      }
      #expect(try await store.getJSON("/counter", as: Int.self) == 80)
      #expect(try await store.get("/counter")?.version == 81)
    }
  }

  private static func increment(_ key: String, in store: any ClusterStore) async throws {
    while true {
      let current = try #require(try await store.get(key))
      let value = try current.decodeJSON(Int.self)
      do {
        try await store.putJSON(key, value + 1, ifModRevision: current.modRevision)
        return
      } catch let error as KazeError where error.code == .conflict {
        continue
      }
    }
  }
}
