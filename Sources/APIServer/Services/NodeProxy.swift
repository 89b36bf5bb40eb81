import ClusterStore
import Foundation
import Hummingbird
import KazeModel

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Forwards a request that only the node running a VM can answer (its serial log, a console
/// ticket) to that node's API, so that any node serves the whole cluster.
struct NodeProxy: Sendable {
  let repository: Repository

  /// What the other node answered, and where it was reached.
  struct Answer {
    var status: HTTPResponse.Status
    var contentType: String
    var body: Data
    var address: String

    /// The answer passed on as it came.
    var response: Response {
      Response(
        status: status, headers: [.contentType: contentType],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
  }

  /// The node `vm` runs on, the one to ask; a VM not placed yet has none, and so no `what`.
  static func node(of vm: VM, lacking what: String) throws -> String {
    guard let node = vm.node else {
      throw KazeError(
        .invalidState, "\(vm.name) has not been placed on a node yet; it has no \(what)")
    }
    return node
  }

  func forward(_ request: Request, to node: String) async throws -> Response {
    try await fetch(request, from: node).response
  }

  /// What `node` answers to the same method and path.
  func fetch(_ request: Request, from node: String) async throws -> Answer {
    guard let address = try await repository.nodes().first(where: { $0.name == node })?.address,
      let url = URL(string: "http://\(address)\(request.uri.path)?\(request.uri.query ?? "")")
    else {
      throw KazeError(.unavailable, "node \(node) has no known address")
    }
    var forwarded = URLRequest(url: url, timeoutInterval: 10)
    forwarded.httpMethod = request.method.rawValue
    let (data, response): (Data, URLResponse)
    do {
      (data, response) = try await URLSession.shared.data(for: forwarded)
    } catch {
      throw KazeError(
        .unavailable, "node \(node) at \(address) does not answer", cause: "\(error)")
    }
    let http = response as? HTTPURLResponse
    return Answer(
      status: HTTPResponse.Status(code: http?.statusCode ?? 502),
      contentType: http?.value(forHTTPHeaderField: "Content-Type") ?? "application/json",
      body: data, address: address)
  }
}
