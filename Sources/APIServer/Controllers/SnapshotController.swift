import ClusterStore
import Foundation
import Hummingbird
import KazeModel

/// /api/v1/vms/{name}/snapshots: disk snapshots of a stopped VM.
struct SnapshotController<Context: RequestContext>: Sendable {
  let environment: APIEnvironment
  var repository: Repository { environment.repository }

  func register(_ group: RouterGroup<Context>) {
    group.get("vms/:name/snapshots", use: list)
    group.post("vms/:name/snapshots", use: create)
    group.post("vms/:name/snapshots/:snapshot/revert", use: revert)
    group.delete("vms/:name/snapshots/:snapshot", use: delete)
  }

  func list(_ request: Request, context: Context) async throws -> Response {
    let vm = try await repository.requireVM(try context.name())
    return try APIJSON.response(try await repository.snapshots(of: vm.name))
  }

  func create(_ request: Request, context: Context) async throws -> Response {
    let vm = try await stoppedVM(context, doing: "take a snapshot of")
    let body = try await APIJSON.decode(CreateSnapshotRequest.self, from: request)
    try body.validate()
    if try await repository.snapshots(of: vm.name).contains(where: { $0.name == body.name }) {
      throw KazeError(
        .alreadyExists, "\(vm.name) already has a snapshot named '\(body.name)'", field: "name")
    }
    var parameters = ["name": body.name]
    parameters["description"] = body.description
    try await run(.snapshotCreate, vm: vm, parameters: parameters)
    let snapshot = try await repository.snapshots(of: vm.name).first { $0.name == body.name }
    return try APIJSON.response(snapshot, status: .created)
  }

  func revert(_ request: Request, context: Context) async throws -> Response {
    let vm = try await stoppedVM(context, doing: "revert")
    let name = try await existingSnapshot(vm, context)
    let task = try await run(.snapshotRevert, vm: vm, parameters: ["name": name])
    return try APIJSON.response(task)
  }

  func delete(_ request: Request, context: Context) async throws -> Response {
    let vm = try await stoppedVM(context, doing: "delete a snapshot of")
    let name = try await existingSnapshot(vm, context)
    try await run(.snapshotDelete, vm: vm, parameters: ["name": name])
    return Response(status: .noContent)
  }

  private func stoppedVM(_ context: Context, doing action: String) async throws -> VM {
    let vm = try await repository.requireVM(try context.name())
    try await VMService(environment: environment).requireStopped(vm, doing: action)
    return vm
  }

  private func existingSnapshot(_ vm: VM, _ context: Context) async throws -> String {
    let name = try context.name("snapshot")
    guard try await repository.snapshots(of: vm.name).contains(where: { $0.name == name }) else {
      throw KazeError.notFound("snapshot", "\(vm.name)/\(name)")
    }
    return name
  }

  @discardableResult
  private func run(_ kind: TaskKind, vm: VM, parameters: [String: String]) async throws -> KazeTask
  {
    let tasks = TaskService(environment: environment)
    return try await tasks.submit(
      KazeTask(kind: kind, vm: vm.name, node: try tasks.node(of: vm), parameters: parameters),
      wait: true)
  }
}
