import ClusterStore
import Foundation
import Hummingbird
import KazeModel

/// /api/v1/vms/{name}/migrate and the migration records.
struct MigrationController<Context: RequestContext>: Sendable {
  let environment: APIEnvironment
  var service: MigrationService { MigrationService(environment: environment) }

  func register(_ group: RouterGroup<Context>) {
    group.post("vms/:name/migrate", use: migrate)
    group.get("vms/:name/migration", use: show)
    group.get("migrations", use: list)
  }

  func migrate(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    _ = try await environment.repository.requireVM(name)
    let body = try await APIJSON.decode(MigrateRequest.self, from: request)
    let migration = try await service.start(name, body)
    guard try request.boolQuery("wait") else {
      return try APIJSON.response(migration, status: .accepted)
    }
    return try APIJSON.response(try await service.wait(name, id: migration.id))
  }

  func show(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    guard let migration = try await environment.repository.migration(name) else {
      throw KazeError.notFound("migration of VM", name)
    }
    return try APIJSON.response(migration)
  }

  func list(_ request: Request, context: Context) async throws -> Response {
    try APIJSON.response(try await environment.repository.migrations())
  }
}
