import ClusterStore
import Foundation
import Testing

@Suite("Cluster store contract: persistence")
struct PersistenceContractTests {
  @Test(
    "reopening the store gives back every key with its metadata and the revision",
    arguments: StoreFactory.all)
  func reopenKeepsData(_ factory: StoreFactory) async throws {
    try await withProvisionedStore(factory) { provisioned in
      let first = try await provisioned.open()
      try await first.put("/p/a", "1".bytes)
      try await first.put("/p/a", "2".bytes)
      try await first.put("/p/b", "x".bytes)
      try await first.delete("/p/b")
      try await first.put("/p/c", Data([0, 1, 2]))
      let before = try await first.list(prefix: "/p/")
      await first.close()

      let second = try await provisioned.open()
      let after = try await second.list(prefix: "/p/")
      #expect(after.items == before.items)
      #expect(after.revision == before.revision)
      #expect(try await second.currentRevision() == before.revision)
      let next = try await second.put("/p/d", Data())
      #expect(next == before.revision + 1)
      await second.close()
    }
  }

  @Test(
    "after reopening, a watch replays history written before", arguments: StoreFactory.all)
  func reopenKeepsHistory(_ factory: StoreFactory) async throws {
    try await withProvisionedStore(factory) { provisioned in
      let first = try await provisioned.open()
      let start = try await first.put("/h/a", "1".bytes)
      try await first.delete("/h/a")
      await first.close()

      let second = try await provisioned.open()
      let recorder = WatchRecorder(second.watch(prefix: "/h/", fromRevision: start))
      let events = try await recorder.waitForEvents(2)
      #expect(events.map(\.kind) == [.put, .delete])
      recorder.stop()
      await second.close()
    }
  }

  @Test(
    "a lease survives reopening within its TTL and still guards its keys",
    arguments: StoreFactory.all)
  func reopenKeepsLeases(_ factory: StoreFactory) async throws {
    try await withProvisionedStore(factory) { provisioned in
      let first = try await provisioned.open()
      let lease = try await first.grantLease(ttl: .seconds(120))
      try await first.put("/l/a", Data(), lease: lease)
      await first.close()

      let second = try await provisioned.open()
      #expect(try await second.get("/l/a")?.lease == lease)
      try await second.keepAlive(lease)
      try await second.revokeLease(lease)
      #expect(try await second.get("/l/a") == nil)
      await second.close()
    }
  }
}
