import ClusterStore
import Foundation
import Hummingbird
import KazeModel

/// /api/v1/images and /api/v1/templates.
struct ImageController<Context: RequestContext>: Sendable {
  let environment: APIEnvironment
  var repository: Repository { environment.repository }

  func register(_ group: RouterGroup<Context>) {
    group.get("images", use: list)
    group.post("images", use: importImage)
    group.get("images/:name", use: show)
    group.delete("images/:name", use: delete)
    group.post("templates", use: createTemplate)
  }

  func list(_ request: Request, context: Context) async throws -> Response {
    try APIJSON.response(try await repository.images())
  }

  func show(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    guard let image = try await repository.image(name) else {
      throw KazeError.notFound("image", name)
    }
    return try APIJSON.response(image)
  }

  func importImage(_ request: Request, context: Context) async throws -> Response {
    let body = try await APIJSON.decode(ImportImageRequest.self, from: request)
    try body.validate()
    if try await repository.image(body.name) != nil {
      throw KazeError(.alreadyExists, "an image named '\(body.name)' already exists", field: "name")
    }
    let library = environment.imageLibrary
    let image = try await runBlocking {
      if let kernel = body.kernel {
        return try library.importKernel(
          name: body.name, kernel: kernel, initrd: body.initrd, cmdline: body.cmdline)
      }
      return try library.importDisk(name: body.name, disk: body.disk ?? "")
    }
    do {
      try await repository.createImage(image)
    } catch {
      try? library.delete(name: image.name)
      throw error
    }
    try await repository.record(
      KazeEvent(
        kind: "image.imported", message: "image \(image.name) imported (\(image.kind.rawValue))"))
    return try APIJSON.response(image, status: .created)
  }

  func delete(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    guard try await repository.image(name) != nil else { throw KazeError.notFound("image", name) }
    let users = try await repository.vms().filter { $0.image == name }.map(\.name)
    if !users.isEmpty {
      throw KazeError(
        .conflict,
        "image \(name) is used by \(users.joined(separator: ", ")); delete those VMs first")
    }
    try await repository.store.delete(StoreKeys.image(name))
    let library = environment.imageLibrary
    try await runBlocking { try library.delete(name: name) }
    try await repository.record(KazeEvent(kind: "image.deleted", message: "image \(name) deleted"))
    return Response(status: .noContent)
  }

  func createTemplate(_ request: Request, context: Context) async throws -> Response {
    let body = try await APIJSON.decode(CreateTemplateRequest.self, from: request)
    try body.validate()
    let vm = try await repository.requireVM(body.vm)
    if try await repository.image(body.name) != nil {
      throw KazeError(.alreadyExists, "an image named '\(body.name)' already exists", field: "name")
    }
    guard !vm.spec.disks.isEmpty else {
      throw KazeError.invalid("vm", "\(vm.name) has no disk to make a template from")
    }
    let tasks = TaskService(environment: environment)
    let task = KazeTask(
      kind: .templateCreate, vm: vm.name, node: try tasks.node(of: vm),
      parameters: ["name": body.name])
    _ = try await tasks.submit(task, wait: true)
    guard let image = try await repository.image(body.name) else {
      throw KazeError(.internalError, "template \(body.name) was not recorded")
    }
    return try APIJSON.response(image, status: .created)
  }
}
