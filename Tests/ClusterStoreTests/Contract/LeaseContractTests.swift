import ClusterStore
import Foundation
import KazeModel
import Testing

@Suite("Cluster store contract: leases")
struct LeaseContractTests {
  @Test(
    "keys attached to a lease are deleted, with delete events, once it expires",
    arguments: StoreFactory.all)
  func expiryDeletesKeys(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let lease = try await store.grantLease(ttl: factory.shortLeaseTTL)
      let start = try await store.put("/alive/node1", "up".bytes, lease: lease)
      try await store.put("/alive/node2", "up".bytes, lease: lease)
      try await store.put("/alive/static", "stays".bytes)
      #expect(try await store.get("/alive/node1")?.lease == lease)
      let recorder = WatchRecorder(store.watch(prefix: "/alive/", fromRevision: start))

      try await eventually("the leased keys are gone") {
        let remaining = try await store.list(prefix: "/alive/node").items
        return remaining.isEmpty
      }
      #expect(try await store.get("/alive/static")?.value == "stays".bytes)
      let events = try await recorder.waitForEvents(5)
      let deletes = events.filter { $0.kind == .delete }
      #expect(Set(deletes.map(\.key)) == ["/alive/node1", "/alive/node2"])
      recorder.stop()
    }
  }

  @Test("keepAlive keeps a lease's keys beyond its TTL", arguments: StoreFactory.all)
  func keepAliveExtends(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let ttl = factory.shortLeaseTTL * 2
      let lease = try await store.grantLease(ttl: ttl)
      try await store.put("/kept", Data(), lease: lease)
      // Keep alive often, for longer than the TTL in total.
      let clock = ContinuousClock()
      let end = clock.now.advanced(by: ttl * 1.5)
      while clock.now < end {
        try await store.keepAlive(lease)
        try await Task.sleep(for: ttl / 8)
      }
      #expect(try await store.get("/kept") != nil)
      try await eventually("the key goes once keep-alives stop") {
        try await store.get("/kept") == nil
      }
    }
  }

  @Test("keepAlive of an expired lease fails with notFound", arguments: StoreFactory.all)
  func keepAliveExpired(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let lease = try await store.grantLease(ttl: factory.shortLeaseTTL)
      try await store.put("/short", Data(), lease: lease)
      try await eventually("the lease expired") { try await store.get("/short") == nil }
      await expectKazeError(.notFound) { try await store.keepAlive(lease) }
      await expectKazeError(.notFound) { try await store.put("/again", Data(), lease: lease) }
    }
  }

  @Test(
    "revoking a lease deletes its keys at once; the lease is then unknown",
    arguments: StoreFactory.all)
  func revoke(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let lease = try await store.grantLease(ttl: .seconds(60))
      let start = try await store.put("/r/a", Data(), lease: lease)
      try await store.put("/r/b", Data(), lease: lease)
      let recorder = WatchRecorder(store.watch(prefix: "/r/", fromRevision: start))
      try await store.revokeLease(lease)
      #expect(try await store.list(prefix: "/r/").items.isEmpty)
      let events = try await recorder.waitForEvents(4)
      #expect(events.suffix(2).map(\.kind) == [.delete, .delete])
      #expect(events.suffix(2).map(\.key) == ["/r/a", "/r/b"])
      await expectKazeError(.notFound) { try await store.keepAlive(lease) }
      await expectKazeError(.notFound) { try await store.revokeLease(lease) }
      recorder.stop()
    }
  }

  @Test("a put with an unknown lease fails with notFound", arguments: StoreFactory.all)
  func unknownLease(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      await expectKazeError(.notFound) {
        try await store.put("/a", Data(), lease: LeaseID(rawValue: 987_654_321))
      }
      let stored = try await store.get("/a")
      #expect(stored == nil)
    }
  }

  @Test(
    "a key rewritten without a lease is detached and outlives the lease",
    arguments: StoreFactory.all)
  func rewriteDetaches(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      let lease = try await store.grantLease(ttl: .seconds(60))
      try await store.put("/a", "leased".bytes, lease: lease)
      try await store.put("/a", "free".bytes)
      #expect(try await store.get("/a")?.lease == nil)
      try await store.revokeLease(lease)
      #expect(try await store.get("/a")?.value == "free".bytes)
    }
  }

  @Test("granted leases are distinct", arguments: StoreFactory.all)
  func distinctLeases(_ factory: StoreFactory) async throws {
    try await withStore(factory) { store in
      var leases: Set<LeaseID> = []
      for _ in 0..<5 { leases.insert(try await store.grantLease(ttl: .seconds(60))) }
      #expect(leases.count == 5)
    }
  }
}
