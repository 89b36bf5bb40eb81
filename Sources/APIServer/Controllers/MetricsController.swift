import ClusterStore
import Foundation
import Hummingbird
import KazeModel

/// GET /api/v1/nodes/{name}/metrics and /api/v1/vms/{name}/metrics: the last minutes of CPU,
/// memory, disk and network load, as kept by the node that measures them (asked of that node
/// when another node gets the request).
struct MetricsController<Context: RequestContext>: Sendable {
  let environment: APIEnvironment
  var repository: Repository { environment.repository }

  func register(_ group: RouterGroup<Context>) {
    group.get("nodes/:name/metrics", use: node)
    group.get("vms/:name/metrics", use: vm)
  }

  func node(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    guard try await repository.nodes().contains(where: { $0.name == name }) else {
      throw KazeError.notFound("node", name)
    }
    if name != environment.nodeName {
      return try await NodeProxy(repository: repository).forward(request, to: name)
    }
    return try await series(request, kind: "node", name: name, subject: .node(name))
  }

  func vm(_ request: Request, context: Context) async throws -> Response {
    let vm = try await repository.requireVM(try context.name())
    let node = try NodeProxy.node(of: vm, lacking: "load")
    if node != environment.nodeName {
      return try await NodeProxy(repository: repository).forward(request, to: node)
    }
    return try await series(request, kind: "vm", name: vm.name, subject: .vm(vm.id))
  }

  private func series(
    _ request: Request, kind: String, name: String, subject: MetricSubject
  ) async throws -> Response {
    let minutes = try request.intQuery("minutes", default: 60, range: 1...60)
    guard let metrics = environment.metrics else {
      throw KazeError(.unavailable, "node \(environment.nodeName) keeps no load samples")
    }
    return try APIJSON.response(
      MetricSeries(
        kind: kind, name: name, node: environment.nodeName,
        intervalSeconds: metrics.interval.seconds,
        samples: await metrics.samples(of: subject, minutes: minutes)))
  }
}
