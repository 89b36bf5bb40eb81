import Foundation
import KazeModel

/// The first revision a watch has not delivered yet, shared by its successive connections.
final class WatchCursor: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Revision?

  init(_ next: Revision?) { value = next }

  var next: Revision? {
    get { lock.withLock { value } }
    set { lock.withLock { value = newValue } }
  }
}

/// One open watch connection: the member it streams from, and the task to end when that member
/// stops answering.
struct WatchConnection {
  var endpoint: String
  var task: Task<Void, any Error>
  var silent = false
}

/// A member that loses power (or hangs) does not close its connections: a watch streaming from
/// it would wait forever, missing every change. So while watches are open, the members they
/// stream from are asked for their status every `watchCheckInterval`; a member that fails twice
/// in a row has its watch connections ended, and they reconnect to another member from the
/// revision after the last one delivered (no event lost).
extension EtcdClusterStore {
  func openConnection(_ id: UUID, endpoint: String, task: Task<Void, any Error>) {
    let interval = options.watchCheckInterval
    state.withLock { state in
      state.connections[id] = WatchConnection(endpoint: endpoint, task: task)
      guard state.checker == nil, !state.closed else { return }
      state.checker = Task { [weak self] in
        var failures: [String: Int] = [:]
        while !Task.isCancelled {
          try? await Task.sleep(for: interval)
          guard let self else { return }
          await self.checkWatchedMembers(&failures, timeout: interval)
        }
      }
    }
  }

  /// Forgets a connection; true when the member check ended it.
  @discardableResult
  func closeConnection(_ id: UUID) -> Bool {
    state.withLock { $0.connections.removeValue(forKey: id)?.silent ?? false }
  }

  /// One round of the member check.
  func checkWatchedMembers(_ failures: inout [String: Int], timeout: Duration) async {
    let watched = Set(state.withLock { $0.connections.values.map(\.endpoint) })
    for endpoint in watched.sorted() {
      if await memberStatus(endpoint, timeout: timeout) != nil {
        failures[endpoint] = nil
        continue
      }
      failures[endpoint, default: 0] += 1
      guard failures[endpoint, default: 0] >= 2 else { continue }
      failures[endpoint] = nil
      let ended = state.withLock { state -> [Task<Void, any Error>] in
        var tasks: [Task<Void, any Error>] = []
        for (id, connection) in state.connections where connection.endpoint == endpoint {
          state.connections[id]?.silent = true
          tasks.append(connection.task)
        }
        return tasks
      }
      if !ended.isEmpty {
        logger.info(
          "etcd member \(endpoint) stopped answering; moving \(ended.count) watch(es) to another member"
        )
      }
      for task in ended { task.cancel() }
    }
    failures = failures.filter { watched.contains($0.key) }
  }
}
