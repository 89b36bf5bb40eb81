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

  func forward(_ request: Request, to node: String) async throws -> Response {
    let answer = try await fetch(request, from: node)
    return Response(
      status: answer.status, headers: [.contentType: answer.contentType],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
  }

  /// What `node` answers to the same method and path; `address` is where it was reached.
  func fetch(
    _ request: Request, from node: String
  ) async throws -> (
    status: HTTPResponse.Status, contentType: String, body: Data, address: String
  ) {
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
    return (
      HTTPResponse.Status(code: http?.statusCode ?? 502),
      http?.value(forHTTPHeaderField: "Content-Type") ?? "application/json", data, address
    )
  }
}
