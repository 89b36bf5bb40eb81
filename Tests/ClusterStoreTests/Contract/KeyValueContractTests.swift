import ClusterStore
import Foundation
import KazeModel
import Testing

@Suite("Cluster store contract: keys and values")
struct KeyValueContractTests {
  @Test("a missing key reads as nil", arguments: StoreFactory.all)
  func missingKey(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let missing = try await store.get("/missing")
      #expect(missing == nil)
    }
  }

  @Test(
    "a put creates a key at version 1 whose create and mod revisions are the write's revision",
    arguments: StoreFactory.all)
  func putCreates(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let before = try await store.currentRevision()
      let revision = try await store.put("/a", "one".bytes)
      #expect(revision == before + 1)
      #expect(try await store.currentRevision() == revision)
      let stored = try #require(try await store.get("/a"))
      #expect(stored.key == "/a")
      #expect(stored.value == "one".bytes)
      #expect(stored.createRevision == revision)
      #expect(stored.modRevision == revision)
      #expect(stored.version == 1)
      #expect(stored.lease == nil)
    }
  }

  @Test(
    "every write advances the store revision by one and bumps only the written key's version",
    arguments: StoreFactory.all)
  func revisionsAndVersions(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let first = try await store.put("/a", "1".bytes)
      let second = try await store.put("/b", "1".bytes)
      let third = try await store.put("/a", "2".bytes)
      #expect(second == first + 1)
      #expect(third == second + 1)
      let a = try #require(try await store.get("/a"))
      #expect(a.value == "2".bytes)
      #expect(a.createRevision == first)
      #expect(a.modRevision == third)
      #expect(a.version == 2)
      let b = try #require(try await store.get("/b"))
      #expect(b.version == 1)
      #expect(b.modRevision == second)
    }
  }

  @Test(
    "delete removes a key and says whether it existed; deleting an absent key changes nothing",
    arguments: StoreFactory.all)
  func deleteKey(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      try await store.put("/a", "1".bytes)
      #expect(try await store.delete("/a"))
      #expect(try await store.get("/a") == nil)
      let afterDelete = try await store.currentRevision()
      #expect(try await store.delete("/a") == false)
      #expect(try await store.delete("/never") == false)
      #expect(try await store.currentRevision() == afterDelete)
    }
  }

  @Test(
    "a key recreated after a delete starts over at version 1 with a new create revision",
    arguments: StoreFactory.all)
  func recreateResetsVersion(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let first = try await store.put("/a", "1".bytes)
      try await store.put("/a", "2".bytes)
      try await store.delete("/a")
      let recreated = try await store.put("/a", "3".bytes)
      let stored = try #require(try await store.get("/a"))
      #expect(stored.version == 1)
      #expect(stored.createRevision == recreated)
      #expect(stored.createRevision != first)
    }
  }

  @Test("values round-trip byte for byte, empty and binary ones too", arguments: StoreFactory.all)
  func valuesRoundTrip(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let binary = Data((0...255).map { UInt8($0) } + [0, 0, 255])
      try await store.put("/binary", binary)
      try await store.put("/empty", Data())
      try await store.put("/unicode/ключ/鍵", "värde ✓".bytes)
      #expect(try await store.get("/binary")?.value == binary)
      #expect(try await store.get("/empty")?.value == Data())
      #expect(try await store.get("/unicode/ключ/鍵")?.value == "värde ✓".bytes)
    }
  }

  @Test("an empty key is rejected as an invalid argument", arguments: StoreFactory.all)
  func emptyKeyRejected(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      await expectKazeError(.invalidArgument) { _ = try await store.get("") }
      await expectKazeError(.invalidArgument) { try await store.put("", "x".bytes) }
      await expectKazeError(.invalidArgument) { try await store.delete("") }
      await expectKazeError(.invalidArgument) {
        _ = try await store.txn(if: [], then: [.put("", "x".bytes)])
      }
      let stored = try await store.list(prefix: "").items
      #expect(stored.isEmpty)
    }
  }

  @Test(
    "JSON helpers store sorted-key JSON with ISO-8601 dates and decode it back",
    arguments: StoreFactory.all)
  func jsonHelpers(_ factory: StoreFactory) async throws {
    struct Record: Codable, Equatable {
      var zeta: Int
      var alpha: String
      var created: Date
    }
    try await withStore(factory) { store in
      let record = Record(zeta: 1, alpha: "a", created: Date(timeIntervalSince1970: 1_700_000_000))
      try await store.putJSON("/json/one", record)
      let raw = try #require(try await store.get("/json/one")).value.text
      #expect(raw == #"{"alpha":"a","created":"2023-11-14T22:13:20Z","zeta":1}"#)
      #expect(try await store.getJSON("/json/one", as: Record.self) == record)
      #expect(try await store.getJSON("/json/missing", as: Record.self) == nil)
      #expect(try await store.listJSON(prefix: "/json/", as: Record.self).items == [record])
      try await store.put("/json/bad", "not json".bytes)
      await expectKazeError(.internalError) {
        _ = try await store.getJSON("/json/bad", as: Record.self)
      }
    }
  }

  @Test("a closed store refuses every call as unavailable", arguments: StoreFactory.all)
  func closedStoreUnavailable(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      await store.close()
      await expectKazeError(.unavailable) { _ = try await store.get("/a") }
      await expectKazeError(.unavailable) { try await store.put("/a", "1".bytes) }
      await expectKazeError(.unavailable) { _ = try await store.currentRevision() }
      await store.close()
    }
  }
}
