import ClusterStore
import Foundation
import Testing

@Suite("Cluster store contract: listing by prefix")
struct ListContractTests {
  @Test(
    "list returns the keys under a prefix sorted by key, with the store revision",
    arguments: StoreFactory.all)
  func listSorted(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      for key in ["/vms/c", "/vms/a", "/nodes/x", "/vms/b", "/vmsx"] {
        try await store.put(key, key.bytes)
      }
      let (items, revision) = try await store.list(prefix: "/vms/")
      #expect(items.map(\.key) == ["/vms/a", "/vms/b", "/vms/c"])
      #expect(items.map(\.value) == ["/vms/a", "/vms/b", "/vms/c"].map(\.bytes))
      #expect(revision == (try await store.currentRevision()))
    }
  }

  @Test(
    "a prefix matches whole bytes: 'a/b' covers 'a/bc' while 'a/b/' does not",
    arguments: StoreFactory.all)
  func prefixBoundaries(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      for key in ["a/b", "a/b/c", "a/bc", "a/c", "a/a"] {
        try await store.put(key, Data())
      }
      #expect(try await store.list(prefix: "a/b").items.map(\.key) == ["a/b", "a/b/c", "a/bc"])
      #expect(try await store.list(prefix: "a/b/").items.map(\.key) == ["a/b/c"])
      #expect(try await store.list(prefix: "a/bc").items.map(\.key) == ["a/bc"])
    }
  }

  @Test(
    "an empty prefix lists every key, an unmatched one none, both with the revision",
    arguments: StoreFactory.all)
  func emptyAndUnmatchedPrefixes(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      try await store.put("/b", Data())
      let last = try await store.put("/a", Data())
      let all = try await store.list(prefix: "")
      #expect(all.items.map(\.key) == ["/a", "/b"])
      #expect(all.revision == last)
      let none = try await store.list(prefix: "/zzz")
      #expect(none.items.isEmpty)
      #expect(none.revision == last)
    }
  }

  @Test("listed keys carry the same metadata as get", arguments: StoreFactory.all)
  func listMetadata(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      try await store.put("/m/a", "1".bytes)
      try await store.put("/m/a", "2".bytes)
      let listed = try #require(try await store.list(prefix: "/m/").items.first)
      #expect(listed == (try await store.get("/m/a")))
    }
  }
}
