import ClusterStore
import Foundation
import Hummingbird
import KazeModel

/// /api/v1/vms: create, list, show, change, delete, and the power actions.
struct VMController<Context: RequestContext>: Sendable {
  let environment: APIEnvironment
  var service: VMService { VMService(environment: environment) }

  func register(_ group: RouterGroup<Context>) {
    group.get("vms", use: list)
    group.post("vms", use: create)
    group.get("vms/:name", use: show)
    group.patch("vms/:name", use: update)
    group.delete("vms/:name", use: delete)
    for action in VMAction.allCases {
      group.post("vms/:name/\(action.rawValue)") { request, context in
        try await perform(action, request: request, context: context)
      }
    }
  }

  func list(_ request: Request, context: Context) async throws -> Response {
    var views = try await environment.repository.views()
    if let phase = request.query("phase") {
      guard VMPhase(rawValue: phase) != nil else {
        throw KazeError.invalid(
          "phase",
          "'\(phase)' is not a phase; use one of: \(VMPhase.allCases.map(\.rawValue).joined(separator: ", "))"
        )
      }
      views = views.filter { $0.status.phase.rawValue == phase }
    }
    if let node = request.query("node") { views = views.filter { $0.vm.node == node } }
    return try APIJSON.response(views)
  }

  func create(_ request: Request, context: Context) async throws -> Response {
    let body = try await APIJSON.decode(CreateVMRequest.self, from: request)
    let view = try await service.create(body, force: try request.boolQuery("force"))
    return try APIJSON.response(view, status: .created)
  }

  func show(_ request: Request, context: Context) async throws -> Response {
    try APIJSON.response(try await service.view(try context.name()))
  }

  func update(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    _ = try await environment.repository.requireVM(name)
    let body = try await APIJSON.decode(UpdateVMRequest.self, from: request)
    return try APIJSON.response(
      try await service.update(name, body, force: try request.boolQuery("force")))
  }

  func delete(_ request: Request, context: Context) async throws -> Response {
    let task = try await service.delete(try context.name(), force: try request.boolQuery("force"))
    if let task, !task.state.isFinished { return try APIJSON.response(task, status: .accepted) }
    return Response(status: .noContent)
  }

  func perform(_ action: VMAction, request: Request, context: Context) async throws -> Response {
    let wait = try request.boolQuery("wait")
    let view = try await service.perform(action, on: try context.name(), wait: wait)
    return try APIJSON.response(view, status: wait ? .ok : .accepted)
  }
}
