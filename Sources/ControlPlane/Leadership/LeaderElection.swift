import ClusterStore
import Foundation
import KazeModel
import Logging

/// Elects one leader among the nodes through the store: whoever creates the leader key (compare
/// on create revision 0) holds it while its lease lives. Controllers run only while leading, and
/// their writes are guarded by `LeaderGuard` so a deposed leader cannot apply a decision.
public struct LeaderElection: Sendable {
  public let store: any ClusterStore
  public let nodeName: String
  public let ttl: Duration
  public let logger: Logger

  public init(store: any ClusterStore, nodeName: String, ttl: Duration, logger: Logger) {
    self.store = store
    self.nodeName = nodeName
    self.ttl = ttl
    self.logger = logger
  }

  /// Campaigns forever; runs `lead` while this node is the leader and cancels it when
  /// leadership is lost. Returns when the calling task is cancelled.
  public func run(lead: @escaping @Sendable (LeaderGuard) async -> Void) async {
    while !Task.isCancelled {
      do {
        let lease = try await store.grantLease(ttl: ttl)
        let attempt = try await campaign(lease: lease)
        if attempt.succeeded {
          logger.info("became the leader", metadata: ["node": "\(nodeName)"])
          try? await Repository(store: store).record(
            KazeEvent(
              kind: "leader.elected", node: nodeName, message: "\(nodeName) leads the cluster"))
          await holdLeadership(lease: lease, lead: lead)
          logger.warning("lost leadership", metadata: ["node": "\(nodeName)"])
        } else {
          try? await store.revokeLease(lease)
          await waitForVacancy(after: attempt.revision)
        }
      } catch  where Task.isCancelled {
        return
      } catch {
        logger.warning("leader election: \(error)")
        try? await Task.sleep(for: .seconds(1))
      }
    }
  }

  private func campaign(lease: LeaseID) async throws -> TxnResult {
    try await store.txn(
      if: [.createRevision(StoreKeys.leader, equals: 0)],
      then: [.put(StoreKeys.leader, Data(nodeName.utf8), lease: lease)])
  }

  /// Returns as soon as the leader key is deleted (its holder's lease expired or was revoked),
  /// so a follower campaigns at once rather than on a timer; at the latest after one TTL.
  private func waitForVacancy(after revision: Revision) async {
    let watch = Task {
      for try await batch in store.watch(prefix: StoreKeys.leader, fromRevision: revision + 1)
      where batch.contains(where: { $0.kind == .delete && $0.key == StoreKeys.leader }) {
        return
      }
    }
    let timer = Task {
      try? await Task.sleep(for: ttl)
      watch.cancel()
    }
    _ = await watch.result
    timer.cancel()
  }

  private func holdLeadership(
    lease: LeaseID, lead: @escaping @Sendable (LeaderGuard) async -> Void
  )
    async
  {
    let guardian = LeaderGuard(nodeName: nodeName)
    let leading = Task { await lead(guardian) }
    defer { leading.cancel() }
    while !Task.isCancelled {
      do {
        try await Task.sleep(for: ttl / 3)
        try await store.keepAlive(lease)
        guard let holder = try await store.get(StoreKeys.leader),
          String(decoding: holder.value, as: UTF8.self) == nodeName
        else { return }
      } catch {
        return
      }
    }
    try? await store.revokeLease(lease)
  }
}

/// The compare that guards a leader's write: it succeeds only while this node holds the leader key.
public struct LeaderGuard: Sendable {
  public let nodeName: String

  public var compare: Compare { .value(StoreKeys.leader, equals: Data(nodeName.utf8)) }
}
