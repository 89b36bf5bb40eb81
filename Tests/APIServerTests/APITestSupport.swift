import APIServer
import ClusterStore
import Foundation
import Hummingbird
import HummingbirdTesting
import KazeModel
import NIOCore
import Storage
import Testing

/// An API over a real SQLite store, with one registered node and one image, and no agent:
/// what the API itself validates and writes can be checked without QEMU.
struct APIFixture {
  let store: SQLiteClusterStore
  let environment: APIEnvironment
  let root: String

  static func make() async throws -> APIFixture {
    let root = NSTemporaryDirectory() + "kaze-api-\(UUID().uuidString.prefix(8))"
    let pool = DirectoryPool(root: root + "/pool")
    try pool.prepare()
    let store = try SQLiteClusterStore(location: .inMemory)
    let repository = Repository(store: store)
    var node = Node(
      name: "node-a", address: "127.0.0.1:7070", cpus: 2, memoryMiB: 4096, accelerator: .tcg,
      acceleratorReason: "test", qemuVersion: "7.2", pools: [pool.info()])
    node.bridges = ["br0"]
    try await store.putJSON(StoreKeys.node(node.name), node)
    let lease = try await store.grantLease(ttl: .seconds(60))
    try await store.put(StoreKeys.alive(node.name), Data(node.address.utf8), lease: lease)
    try await repository.createImage(
      Image(
        name: "tiny", kind: .kernel, kernelPath: "/images/tiny/vmlinuz",
        initrdPath: "/images/tiny/initrd.img"))
    let environment = APIEnvironment(
      repository: repository, nodeName: node.name, imageLibrary: ImageLibrary(pool: pool),
      runFiles: { _ in VMRunFiles(directory: root) }, waitTimeout: .seconds(2))
    return APIFixture(store: store, environment: environment, root: root)
  }

  func close() async {
    await store.close()
    try? FileManager.default.removeItem(atPath: root)
  }

  /// Runs `body` against the router (no network).
  func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
    let app = KazeAPI.buildApplication(
      environment: environment, host: "127.0.0.1", port: 0, logger: .init(label: "test"))
    try await app.test(.router, body)
  }
}

struct ErrorReply: Decodable {
  var code: String
  var message: String
  var field: String?
  var reason: String?
  var values: [String: String]?
}

extension TestResponse {
  func decode<T: Decodable>(_ type: T.Type) throws -> T {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return try decoder.decode(T.self, from: Data(buffer: body))
  }
}

extension ByteBuffer {
  static func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
}
