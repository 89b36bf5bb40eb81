import ClusterStore
import Foundation
import KazeModel

/// The storage pools the cluster's nodes report, for checking a pool named in a request.
struct PoolNames: Sendable {
  let repository: Repository

  func require(_ name: String, field: String) async throws -> String {
    let known = Set(try await repository.nodes().flatMap { $0.pools.map(\.name) })
    guard known.isEmpty || known.contains(name) else {
      throw KazeError.invalid(
        field,
        "no storage pool named '\(name)'; the nodes have \(known.sorted().joined(separator: ", "))")
    }
    return name
  }
}
