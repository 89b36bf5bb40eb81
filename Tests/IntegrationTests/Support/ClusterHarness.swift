import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

/// Several kazed nodes on this machine, each on its own loopback address (127.0.0.2, .3, …) with
/// its own data folder, sharing a 3-member etcd and one host folder as the `shared` pool.
final class ClusterHarness: @unchecked Sendable {
  let root: String
  let etcd: EtcdCluster
  let nodes: [KazedHarness]
  /// With `partitionable`, each node reaches etcd through proxies on its own address, so that
  /// one node's link to the store can be cut while its processes keep running.
  let proxies: [String: [TCPProxy]]
  private let crashLock = NSLock()
  private var crashes: [String] = []

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
  /// that fails or takes over 5 s (a node still recovering) counts as "not yet". On a time-out
  /// the error says what was seen last.
  func everyNodeOnline(timeout: Duration = .seconds(90)) async throws {
    var seen = "no answer yet"
    do {
      try await eventually("every node online", timeout: timeout) {
        () async throws -> Bool? in
        let (asked, answer) = await ask { try await $0.nodes() }
        switch answer {
        case .failed(let why):
          seen = "\(asked) gave no node list: \(why)"
          return nil
        case .value(let views):
          seen =
            views.map { "\($0.node.name) \($0.state.rawValue)" }.joined(separator: ", ")
            + " (asked \(asked))"
          return views.count == nodes.count && views.allSatisfy { $0.state == .online }
            ? true : nil
        }
      }
    } catch let error as KazeError where error.code == .timeout {
      throw KazeError(.timeout, "not every node came online: \(seen)")
    }
  }

  var client: KazeClient { nodes[0].client }

  func node(_ name: String) -> KazedHarness? { nodes.first { $0.name == name } }

  /// A node that is up, to talk to while others are down.
  func liveClient(excluding name: String? = nil) -> KazeClient {
    liveClient(excluding: Set([name].compactMap { $0 }))
  }

  func liveClient(excluding names: Set<String>) -> KazeClient {
    liveNode(excluding: names).client
  }

  /// The first node whose kazed runs and that is not one of `names` (a kazed that ended by
  /// itself is noted as a crash and passed over).
  func liveNode(excluding names: Set<String> = []) -> KazedHarness {
    noticeCrashes()
    return nodes.first { !names.contains($0.name) && $0.pid > 0 } ?? nodes[0]
  }

  /// Asks a live node (not one of `names`) within 5 s: its name and the answer, or why none came.
  func ask<T: Sendable>(
    excluding names: Set<String> = [], _ body: @escaping @Sendable (KazeClient) async throws -> T
  ) async -> (node: String, answer: Answer<T>) {
    let node = liveNode(excluding: names)
    let client = node.client
    let answer = await within(.seconds(5)) { () async -> Answer<T> in
      do { return .value(try await body(client)) } catch { return .failed("\(error)") }
    }
    return (node.name, answer ?? .failed("no answer within 5 s"))
  }

  enum Answer<T: Sendable>: Sendable {
    case value(T)
    case failed(String)
  }

  /// Looks for kazed processes that ended without the test stopping them and notes them.
  func noticeCrashes() {
    let found = nodes.compactMap { $0.unexpectedExit() }
    guard !found.isEmpty else { return }
    crashLock.withLock { crashes += found }
  }

  /// The kazed crashes noticed since the last call, each with the end of its log.
  func takeCrashes() -> [String] {
    noticeCrashes()
    return crashLock.withLock {
      defer { crashes.removeAll() }
      return crashes
    }
  }

  func importTestImage() async throws {
    try await nodes[0].importTestImage()
  }

  /// Stops everything; a kazed that crashed during the test is a failure of the test.
  func cleanUp() {
    for crash in takeCrashes() { Issue.record("\(crash)") }
    for node in nodes { node.cleanUp() }
    for list in proxies.values { list.forEach { $0.stop() } }
    etcd.destroy()
    Task { await Limiter.etcd.release() }
    if ProcessInfo.processInfo.environment["KAZE_KEEP_TEST_DATA"] != "1" {
      try? FileManager.default.removeItem(atPath: root)
    }
  }
}
