import Foundation
import KazeClient
import KazeModel
import KazeTestSupport

/// Several kazed nodes on this machine, each on its own loopback address (127.0.0.2, .3, …) with
/// its own data folder, sharing a 3-member etcd and one host folder as the `shared` pool.
final class ClusterHarness: @unchecked Sendable {
  let root: String
  let etcd: EtcdCluster
  let nodes: [KazedHarness]
  /// With `partitionable`, each node reaches etcd through proxies on its own address, so that
  /// one node's link to the store can be cut while its processes keep running.
  let proxies: [String: [TCPProxy]]

  init(nodes count: Int = 3, partitionable: Bool = false) throws {
    let root = NSTemporaryDirectory() + "kaze-cluster-\(UUID().uuidString.prefix(8).lowercased())"
    let shared = root + "/shared"
    try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
    let etcd = try EtcdCluster(members: 3)
    self.root = root
    self.etcd = etcd
    var proxies: [String: [TCPProxy]] = [:]
    if partitionable {
      for index in 1...count {
        proxies["node-\(index)"] = try etcd.members.map {
          try TCPProxy(host: "127.0.0.\(index + 1)", to: "127.0.0.1", port: $0.clientPort)
        }
      }
    }
    self.proxies = proxies
    nodes = try (1...count).map { index in
      let store =
        proxies["node-\(index)"].map { "etcd://" + $0.map(\.address).joined(separator: ",") }
        ?? etcd.storeURL
      return try KazedHarness(
        name: "node-\(index)", host: "127.0.0.\(index + 1)", dataDir: "\(root)/node-\(index)",
        extraArguments: [
          "--store", store, "--shared-pool", shared, "--label", "rack=r\(index)",
        ])
    }
  }

  /// Cuts one node off the store (its processes keep running).
  func cut(_ node: String) { proxies[node]?.forEach { $0.cut() } }

  func restore(_ node: String) { proxies[node]?.forEach { $0.restore() } }

  func start() async throws {
    await Limiter.etcd.acquire()
    try etcd.start()
    try await etcd.waitUntilHealthy()
    for node in nodes { try await node.start() }
    try await eventually("every node online", timeout: .seconds(60)) {
      let views = try await client.nodes()
      return views.count == nodes.count && views.allSatisfy { $0.state == .online } ? true : nil
    }
  }

  /// Waits until every node is online again after a fault, asking a node that is up; a request
  /// that fails or takes over 5 s (a node still recovering) counts as "not yet".
  func everyNodeOnline(timeout: Duration = .seconds(90)) async throws {
    try await eventually("every node online", timeout: timeout) {
      () async throws -> Bool? in
      let client = liveClient()
      let views: [NodeView]? = await within(.seconds(5)) { try await client.nodes() }
      guard let views else { return nil }
      return views.count == nodes.count && views.allSatisfy { $0.state == .online } ? true : nil
    }
  }

  var client: KazeClient { nodes[0].client }

  func node(_ name: String) -> KazedHarness? { nodes.first { $0.name == name } }

  /// A node that is up, to talk to while others are down.
  func liveClient(excluding name: String? = nil) -> KazeClient {
    liveClient(excluding: Set([name].compactMap { $0 }))
  }

  func liveClient(excluding names: Set<String>) -> KazeClient {
    (nodes.first { !names.contains($0.name) && $0.pid > 0 } ?? nodes[0]).client
  }

  func importTestImage() async throws {
    try await nodes[0].importTestImage()
  }

  func cleanUp() {
    for node in nodes { node.cleanUp() }
    for list in proxies.values { list.forEach { $0.stop() } }
    etcd.destroy()
    Task { await Limiter.etcd.release() }
    if ProcessInfo.processInfo.environment["KAZE_KEEP_TEST_DATA"] != "1" {
      try? FileManager.default.removeItem(atPath: root)
    }
  }
}
