import ClusterStore
import Foundation
import KazeModel
import Testing

@Suite("Cluster store contract: transactions")
struct TransactionContractTests {
  @Test(
    "when every compare holds, the then branch runs and all its writes share one new revision",
    arguments: StoreFactory.all)
  func thenBranch(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let a = try await store.put("/a", "1".bytes)
      try await store.put("/gone", "x".bytes)
      let before = try await store.currentRevision()
      let result = try await store.txn(
        if: [.modRevision("/a", equals: a), .value("/a", equals: "1".bytes)],
        then: [.put("/a", "2".bytes), .put("/b", "new".bytes), .delete("/gone")],
        else: [.put("/else", "ran".bytes)])
      #expect(result.succeeded)
      #expect(result.revision == before + 1)
      #expect(try await store.currentRevision() == before + 1)
      #expect(try await store.get("/a")?.modRevision == result.revision)
      #expect(try await store.get("/b")?.createRevision == result.revision)
      #expect(try await store.get("/gone") == nil)
      #expect(try await store.get("/else") == nil)
    }
  }

  @Test(
    "when a compare fails, the else branch runs and none of the then writes happen",
    arguments: StoreFactory.all)
  func elseBranch(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      try await store.put("/a", "1".bytes)
      let result = try await store.txn(
        if: [.value("/a", equals: "other".bytes)],
        then: [.put("/then", "ran".bytes)],
        else: [.put("/else", "ran".bytes)])
      #expect(result.succeeded == false)
      #expect(try await store.get("/then") == nil)
      #expect(try await store.get("/else")?.modRevision == result.revision)
    }
  }

  @Test(
    "compares on an absent key: revisions 0 hold, a value compare does not",
    arguments: StoreFactory.all)
  func comparesOnAbsentKey(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let absent = try await store.txn(
        if: [.modRevision("/x", equals: 0), .createRevision("/x", equals: 0)],
        then: [.put("/x", "created".bytes)])
      #expect(absent.succeeded)
      let created = try #require(try await store.get("/x"))
      let byCreateRevision = try await store.txn(
        if: [.createRevision("/x", equals: created.createRevision)], then: [])
      #expect(byCreateRevision.succeeded)
      let byValueOfAbsent = try await store.txn(if: [.value("/y", equals: Data())], then: [])
      #expect(byValueOfAbsent.succeeded == false)
      let createAgain = try await store.txn(
        if: [.modRevision("/x", equals: 0)], then: [.put("/x", "again".bytes)])
      #expect(createAgain.succeeded == false)
      #expect(try await store.get("/x")?.value == "created".bytes)
    }
  }

  @Test(
    "a transaction that writes nothing leaves the revision where it was",
    arguments: StoreFactory.all)
  func emptyTransaction(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let revision = try await store.put("/a", Data())
      let result = try await store.txn(
        if: [.modRevision("/a", equals: revision)], then: [.delete("/absent")], else: [])
      #expect(result.succeeded)
      #expect(result.revision == revision)
      #expect(try await store.currentRevision() == revision)
    }
  }

  @Test(
    "deletePrefix deletes exactly the keys under the prefix, all at one revision",
    arguments: StoreFactory.all)
  func deletePrefix(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      for key in ["/snap/vm1/a", "/snap/vm1/b", "/snap/vm10/a", "/snap/vm2/a"] {
        try await store.put(key, Data())
      }
      let result = try await store.txn(if: [], then: [.deletePrefix("/snap/vm1/")])
      #expect(result.succeeded)
      #expect(
        try await store.list(prefix: "/snap/").items.map(\.key) == ["/snap/vm10/a", "/snap/vm2/a"])
      #expect(try await store.currentRevision() == result.revision)
    }
  }

  @Test("a transaction that fails midway applies none of its writes", arguments: StoreFactory.all)
  func failedTransactionIsAtomic(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      try await store.put("/a", "1".bytes)
      let lease = try await store.grantLease(ttl: .seconds(60))
      try await store.revokeLease(lease)
      let revision = try await store.currentRevision()
      await expectKazeError(.notFound) {
        _ = try await store.txn(
          if: [], then: [.put("/a", "2".bytes), .put("/leased", "x".bytes, lease: lease)])
      }
      #expect(try await store.get("/a")?.value == "1".bytes)
      #expect(try await store.get("/leased") == nil)
      #expect(try await store.currentRevision() == revision)
    }
  }

  @Test("JSON operations compose into transactions", arguments: StoreFactory.all)
  func jsonInTransactions(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      try await store.putJSON("/n", ["count": 1])
      let result = try await store.txn(
        if: [try .jsonValue("/n", equals: ["count": 1])],
        then: [try .putJSON("/n", ["count": 2])])
      #expect(result.succeeded)
      #expect(try await store.getJSON("/n", as: [String: Int].self) == ["count": 2])
    }
  }
}
