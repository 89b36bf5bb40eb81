import ClusterStore
import Foundation
import Hummingbird
import KazeModel

/// /api/v1/nodes/{name}/maintenance: take a node out of service and back.
struct NodeMaintenanceController<Context: RequestContext>: Sendable {
  let environment: APIEnvironment
  var repository: Repository { environment.repository }

  func register(_ group: RouterGroup<Context>) {
    group.post("nodes/:name/maintenance/enter", use: enter)
    group.post("nodes/:name/maintenance/exit", use: exit)
    group.get("nodes/:name/maintenance", use: show)
  }

  func enter(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    let node = try await requireNode(name)
    if node.maintenance {
      throw KazeError(.conflict, "\(name) is already in maintenance")
    }
    let record = Maintenance(node: name)
    let store = repository.store
    guard let nodeRecord = try await store.get(StoreKeys.node(name)) else {
      throw KazeError.notFound("node", name)
    }
    var updated = node
    updated.maintenance = true
    let result = try await store.txn(
      if: [.modRevision(nodeRecord.key, equals: nodeRecord.modRevision)],
      then: [
        try .putJSON(nodeRecord.key, updated), try .putJSON(StoreKeys.maintenance(name), record),
      ])
    guard result.succeeded else { throw KazeError(.conflict, "\(name) changed; try again") }
    try await repository.record(
      KazeEvent(
        kind: "node.maintenance", node: name,
        message: "\(name) enters maintenance; moving its VMs away"))
    return try APIJSON.response(record, status: .accepted)
  }

  func exit(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    let node = try await requireNode(name)
    var body = ExitMaintenanceRequest()
    if let length = request.headers[.contentLength], length != "0" {
      body = try await APIJSON.decode(ExitMaintenanceRequest.self, from: request)
    }
    guard node.maintenance else { throw KazeError(.conflict, "\(name) is not in maintenance") }
    try await repository.updateNode(name) { $0.maintenance = false }
    let moveBack = body.moveBack == true
    let record = try await repository.updateMaintenance(name) {
      $0.state = moveBack && !$0.moved.isEmpty ? .returning : .exited
      if !moveBack { $0.finishedAt = Date() }
    }
    try await repository.record(
      KazeEvent(
        kind: "node.maintenance-exit", node: name,
        message: "\(name) leaves maintenance" + (moveBack ? "; its VMs come back" : "")))
    return try APIJSON.response(record)
  }

  func show(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    _ = try await requireNode(name)
    guard let record = try await repository.maintenance(name) else {
      throw KazeError(.notFound, "\(name) has never been in maintenance")
    }
    return try APIJSON.response(record)
  }

  private func requireNode(_ name: String) async throws -> Node {
    guard let node = try await repository.nodes().first(where: { $0.name == name }) else {
      throw KazeError.notFound("node", name)
    }
    return node
  }
}
