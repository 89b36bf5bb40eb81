import ClusterStore
import ControlPlane
import Foundation
import Hummingbird
import KazeModel
import Scheduler

/// /api/v1/storage/replication (where each VM's replicated copies are and how they stand) and
/// /api/v1/vms/{name}/recover (start a VM whose node is lost from its secondary copies).
struct ReplicationRoutes<Context: RequestContext>: Sendable {
  let environment: APIEnvironment
  var repository: Repository { environment.repository }

  func register(_ group: RouterGroup<Context>) {
    group.get("storage/replication", use: list)
    group.post("vms/:name/recover", use: recover)
  }

  func list(_ request: Request, context: Context) async throws -> Response {
    try APIJSON.response(try await repository.replications().values.sorted { $0.vm < $1.vm })
  }

  func recover(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    let vm = try await repository.requireVM(name)
    let body = try await APIJSON.decode(RecoverVMRequest.self, from: request)
    guard Replication.isReplicated(vm) else {
      throw KazeError(
        .invalidState,
        "\(name) has no disk on the replicated pool; there is no second copy to recover it from")
    }
    guard let from = vm.node else {
      throw KazeError(.invalidState, "\(name) is not assigned to any node; start it instead")
    }
    let alive = try await repository.aliveNodes()
    if alive.contains(from) {
      throw KazeError(
        .invalidState,
        "\(name)'s node \(from) is online; recover is for a VM whose node is lost (use migrate or "
          + "start)")
    }
    let acceptDataLoss = body.acceptDataLoss == true
    let target = try ReplicaPlanner.failoverTarget(
      of: vm, replication: try await repository.replication(name), alive: alive,
      acceptDataLoss: acceptDataLoss
    ).get()
    try await RecoveryController.reassign(
      vm, from: from, to: target, detectedAt: Date(), repository: repository, conditions: [],
      reason: acceptDataLoss
        ? "recovered by an admin, accepting data loss" : "recovered by an admin")
    if acceptDataLoss {
      try await repository.record(
        KazeEvent(
          level: .warning, kind: "vm.data-loss-accepted", vm: name, node: target,
          message:
            "an admin started \(name) on \(target) from a copy that was not in sync; writes made "
            + "on \(from) after it fell behind are lost"))
    }
    return try APIJSON.response(try await VMService(environment: environment).view(name))
  }
}
