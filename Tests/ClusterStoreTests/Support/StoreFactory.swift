import ClusterStore
import Foundation
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

  static let all: [StoreFactory] = [.sqliteFile]

  static let sqliteFile = StoreFactory(name: "SQLite file", shortLeaseTTL: .seconds(1)) {
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
