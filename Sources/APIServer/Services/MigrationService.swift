import ClusterStore
import ControlPlane
import Foundation
import KazeModel

/// Checks a live migration request against the cluster and records it for the agents.
struct MigrationService: Sendable {
  let environment: APIEnvironment
  var repository: Repository { environment.repository }

  func start(_ name: String, _ request: MigrateRequest) async throws -> Migration {
    try request.validate()
    return try await MigrationPlanner(repository: repository, policy: environment.policy).start(
      name, to: request.to, downtimeLimitMs: request.downtimeLimitMs ?? 30,
      bandwidthMiBps: request.bandwidthMiBps ?? 0)
  }

  /// Waits until the migration ends; a failure becomes the error.
  func wait(_ name: String, id: String) async throws -> Migration {
    let repository = self.repository
    let done = try await Waiting.until(
      timeout: environment.waitTimeout, what: "the migration of \(name)"
    ) {
      let migration = try await repository.migration(name)
      guard let migration, migration.id == id else {
        throw KazeError(.conflict, "the migration of \(name) was replaced")
      }
      return migration.isActive ? nil : migration
    }
    if done.state == .failed {
      throw KazeError(
        .internalError, "the migration of \(name) failed: \(done.error ?? "no reason")")
    }
    return done
  }
}
