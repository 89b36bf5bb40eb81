import ClusterStore
import Foundation
import Hummingbird
import KazeModel

/// /api/v1/vms/{name}/disks: add, grow and delete a VM's disks.
struct DiskController<Context: RequestContext>: Sendable {
  let environment: APIEnvironment
  var repository: Repository { environment.repository }

  func register(_ group: RouterGroup<Context>) {
    group.get("vms/:name/disks", use: list)
    group.post("vms/:name/disks", use: add)
    group.post("vms/:name/disks/:disk/resize", use: resize)
    group.post("vms/:name/disks/:disk/move", use: move)
    group.delete("vms/:name/disks/:disk", use: delete)
  }

  static func views(_ vm: VM) -> [DiskView] {
    vm.spec.disks.map {
      DiskView(name: $0.name, pool: $0.pool, sizeBytes: $0.sizeBytes, backing: $0.backingPath)
    }
  }

  func list(_ request: Request, context: Context) async throws -> Response {
    try APIJSON.response(Self.views(try await repository.requireVM(try context.name())))
  }

  func add(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    let vm = try await repository.requireVM(name)
    let body = try await APIJSON.decode(DiskRequest.self, from: request)
    let size = try Validators.size(body.size)
    let pool = try await PoolNames(repository: repository).require(
      body.pool ?? vm.spec.disks.first?.pool ?? environment.imageLibrary.pool.name, field: "pool")
    try await requireStopped(vm, doing: "add a disk to")
    if vm.spec.disks.count >= 16 {
      throw KazeError.invalid("disks", "\(name) already has 16 disks")
    }
    let updated = try await repository.updateVM(name) { vm in
      let used = Set(vm.spec.disks.map(\.name))
      let diskName = (0...16).map { "disk\($0)" }.first { !used.contains($0) } ?? "disk16"
      vm.spec.disks.append(DiskSpec(name: diskName, pool: pool, sizeBytes: size))
    }
    try await repository.record(
      KazeEvent(kind: "disk.added", vm: name, message: "disk of \(size.humanBytes) added"))
    return try APIJSON.response(Self.views(updated), status: .created)
  }

  func resize(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    let diskName = try context.name("disk")
    let vm = try await repository.requireVM(name)
    guard let disk = vm.spec.disks.first(where: { $0.name == diskName }) else {
      throw KazeError.notFound("disk", "\(name)/\(diskName)")
    }
    let body = try await APIJSON.decode(DiskRequest.self, from: request)
    let size = try Validators.size(body.size)
    if body.pool != nil { throw KazeError.invalid("pool", "a resize cannot change the pool") }
    guard size >= disk.sizeBytes else {
      throw KazeError.invalid(
        "size",
        "\(size.humanBytes) is smaller than \(diskName)'s \(disk.sizeBytes.humanBytes); disks only grow"
      )
    }
    let updated = try await repository.updateVM(name) { vm in
      if let index = vm.spec.disks.firstIndex(where: { $0.name == diskName }) {
        vm.spec.disks[index].sizeBytes = size
      }
    }
    if let node = vm.node {
      _ = try await TaskService(environment: environment).submit(
        KazeTask(kind: .diskResize, vm: name, node: node, parameters: ["disk": diskName]),
        wait: true)
    }
    return try APIJSON.response(Self.views(updated))
  }

  /// Moves a disk to another pool: a mirror and a switch-over while the VM runs, a copy when it
  /// is stopped; the old file is deleted once the VM uses the new one. 202 with the task (or 200
  /// once done with `wait=true`).
  func move(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    let diskName = try context.name("disk")
    let vm = try await repository.requireVM(name)
    guard let disk = vm.spec.disks.first(where: { $0.name == diskName }) else {
      throw KazeError.notFound("disk", "\(name)/\(diskName)")
    }
    let body = try await APIJSON.decode(MoveDiskRequest.self, from: request)
    let pool = try await PoolNames(repository: repository).require(body.pool, field: "pool")
    if pool == disk.pool {
      throw KazeError.invalid("pool", "\(diskName) is already on pool '\(pool)'")
    }
    let node = try TaskService(environment: environment).node(of: vm)
    let nodes = try await repository.nodes()
    if let record = nodes.first(where: { $0.name == node }),
      !record.pools.contains(where: { $0.name == pool })
    {
      throw KazeError.invalid("pool", "\(name) runs on \(node), which has no pool '\(pool)'")
    }
    if !(try await repository.snapshots(of: name)).isEmpty {
      throw KazeError(
        .conflict, "\(name) has snapshots, which live inside its disks; delete them before a move")
    }
    if let migration = try await repository.migration(name), migration.isActive {
      throw KazeError(.invalidState, "\(name) is being migrated; move its disk afterwards")
    }
    let task = try await TaskService(environment: environment).submit(
      KazeTask(
        kind: .diskMove, vm: name, node: node, parameters: ["disk": diskName, "pool": pool]),
      wait: try request.boolQuery("wait"))
    return try APIJSON.response(task, status: task.state.isFinished ? .ok : .accepted)
  }

  func delete(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    let diskName = try context.name("disk")
    let vm = try await repository.requireVM(name)
    guard let disk = vm.spec.disks.first(where: { $0.name == diskName }) else {
      throw KazeError.notFound("disk", "\(name)/\(diskName)")
    }
    try await requireStopped(vm, doing: "delete a disk of")
    if !(try await repository.snapshots(of: name)).isEmpty {
      throw KazeError(.conflict, "\(name) has snapshots; delete them before deleting a disk")
    }
    if let node = vm.node {
      _ = try await TaskService(environment: environment).submit(
        KazeTask(
          kind: .diskDelete, vm: name, node: node,
          parameters: ["disk": diskName, "pool": disk.pool]),
        wait: true)
    }
    try await repository.updateVM(name) { vm in vm.spec.disks.removeAll { $0.name == diskName } }
    return Response(status: .noContent)
  }

  private func requireStopped(_ vm: VM, doing action: String) async throws {
    try await VMService(environment: environment).requireStopped(vm, doing: action)
  }
}
