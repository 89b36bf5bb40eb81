import ClusterStore
import Foundation
import KazeModel

/// Hands work to the node agent that owns a VM and, when asked, waits for the outcome.
struct TaskService: Sendable {
  let environment: APIEnvironment

  /// Stores the task; with `wait`, returns once it finished (a failed task becomes the error).
  func submit(_ task: KazeTask, wait: Bool) async throws -> KazeTask {
    let repository = environment.repository
    try await repository.putTask(task)
    guard wait else { return task }
    let done = try await Waiting.until(timeout: environment.waitTimeout, what: "task \(task.id)") {
      let current = try await repository.task(task.id)
      return current?.state.isFinished == true ? current : nil
    }
    if done.state == .failed {
      let message = done.message ?? "\(done.kind.rawValue) failed"
      let code: KazeError.Code =
        message.contains("while it runs")
        ? .invalidState
        : message.contains("not found") ? .notFound : .internalError
      throw KazeError(code, message)
    }
    return done
  }

  /// The node that must run a task about this VM, or a 409 when it has none yet.
  func node(of vm: VM) throws -> String {
    guard let node = vm.node else {
      throw KazeError(.invalidState, "\(vm.name) is not placed on a node yet")
    }
    return node
  }
}
