import ClusterStore
import Foundation
import KazeTestSupport
import Testing

/// One implementation of `ClusterStore` under test. The contract suites run once per factory in
/// `StoreFactory.all`; an etcd-backed factory joins that list to run the very same suites.
struct StoreFactory: Sendable, CustomTestStringConvertible {
  let name: String
  /// A TTL short enough for expiry tests to finish quickly, long enough for the backend to accept.
  let shortLeaseTTL: Duration
  /// Provisions a fresh, empty backend (a database file, an etcd key namespace).
  let provision: @Sendable () throws -> ProvisionedStore

  var testDescription: String { name }

  static let all: [StoreFactory] = [.sqliteFile, .etcdSingle, .etcdCluster]

  static let sqliteFile = StoreFactory(name: "SQLite file", shortLeaseTTL: .seconds(2)) {
    let directory = try TemporaryDirectory()
    let path = directory.url.appendingPathComponent("cluster.sqlite").path
    return ProvisionedStore(
      open: {
        try SQLiteClusterStore(
          path: path, options: .init(leaseCheckInterval: .milliseconds(50)))
      },
      destroy: { directory.remove() })
  }
}

extension StoreFactory {
  /// A real single-member etcd on loopback, fresh for every test.
  static let etcdSingle = etcd(members: 1)
  /// A real 3-member etcd cluster on loopback, fresh for every test.
  static let etcdCluster = etcd(members: 3)

  static func etcd(members: Int) -> StoreFactory {
    StoreFactory(
      name: "etcd, \(members) member\(members == 1 ? "" : "s")", shortLeaseTTL: .seconds(2)
    ) {
      let cluster = try EtcdCluster(members: members)
      let started = LockedFlag()
      return ProvisionedStore(
        open: {
          if started.setOnce() {
            await Limiter.etcd.acquire()
            try cluster.start()
          }
          try await cluster.waitUntilHealthy()
          return try EtcdClusterStore(endpoints: cluster.endpoints)
        },
        destroy: {
          cluster.destroy()
          if started.isSet { Task { await Limiter.etcd.release() } }
        })
    }
  }
}

/// A flag that is set once, from any thread.
final class LockedFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false

  /// Sets the flag; true if it was not set before.
  func setOnce() -> Bool {
    lock.withLock {
      defer { value = true }
      return !value
    }
  }

  var isSet: Bool { lock.withLock { value } }
}

/// A provisioned backend. `open` may be called again, after closing the previous store, to
/// reconnect to the same data.
struct ProvisionedStore: Sendable {
  let open: @Sendable () async throws -> any ClusterStore
  let destroy: @Sendable () -> Void
}

/// Runs `body` with a fresh store of the factory's kind, then closes and removes it.
func withStore(
  _ factory: StoreFactory, _ body: (any ClusterStore) async throws -> Void
) async throws {
  try await withProvisionedStore(factory) { provisioned in
    let store = try await provisioned.open()
    do {
      try await body(store)
    } catch {
      await store.close()
      throw error
    }
    await store.close()
  }
}

/// Runs `body` with a freshly provisioned backend, removed afterwards.
func withProvisionedStore(
  _ factory: StoreFactory, _ body: (ProvisionedStore) async throws -> Void
) async throws {
  let provisioned = try factory.provision()
  defer { provisioned.destroy() }
  try await body(provisioned)
}

/// A directory of its own under the system's temporary directory.
struct TemporaryDirectory: Sendable {
  let url: URL

  init() throws {
    url = FileManager.default.temporaryDirectory
      .appendingPathComponent("kaze-cluster-store-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  func remove() {
    try? FileManager.default.removeItem(at: url)
  }
}
