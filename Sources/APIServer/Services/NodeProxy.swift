import ClusterStore
import Foundation
import Hummingbird
import KazeModel

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Forwards a read that only the node running a VM can answer (its serial log) to that node's
/// API, so that any node serves the whole cluster.
struct NodeProxy: Sendable {
  let repository: Repository

  func forward(_ request: Request, to node: String) async throws -> Response {
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
    let status = (response as? HTTPURLResponse)?.statusCode ?? 502
    let type =
      (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")
      ?? "application/json"
    return Response(
      status: HTTPResponse.Status(code: status), headers: [.contentType: type],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
  }
}
