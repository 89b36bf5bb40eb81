import ClusterStore
import Foundation
import KazeModel
import KazeTestSupport
import Testing

/// What only a real etcd cluster can show: members dying and coming back under a running store.
@Suite("etcd store under member failures", .serialized)
struct EtcdFailureTests {
  func withCluster(
    _ body: (EtcdCluster, EtcdClusterStore) async throws -> Void
  ) async throws {
    await Limiter.etcd.acquire()
    let cluster = try EtcdCluster(members: 3)
    defer {
      cluster.destroy()
      Task { await Limiter.etcd.release() }
    }
    try cluster.start()
    try await cluster.waitUntilHealthy()
    let store = try EtcdClusterStore(
      endpoints: cluster.endpoints, options: .init(requestTimeout: .seconds(3)))
    do {
      try await body(cluster, store)
    } catch {
      await store.close()
      throw error
    }
    await store.close()
  }

  @Test("a watch delivers every event, in order and once, while its member restarts")
  func watchSurvivesMemberRestart() async throws {
    try await withCluster { cluster, store in
      let first = try await store.put("/w/0", "0".bytes)
      let recorder = WatchRecorder(store.watch(prefix: "/w/", fromRevision: first))
      _ = try await recorder.waitForEvents(1)
      // The store talks to the first member it reached; kill that one.
      let victim = cluster.members[0].name
      cluster.kill(victim)
      for index in 1...5 { try await store.put("/w/\(index)", "\(index)".bytes) }
      try cluster.restart(victim)
      try await cluster.waitUntilHealthy()
      for index in 6...10 { try await store.put("/w/\(index)", "\(index)".bytes) }
      let events = try await recorder.waitForEvents(11)
      #expect(events.map(\.key) == (0...10).map { "/w/\($0)" })
      let revisions = events.map(\.modRevision)
      #expect(revisions == revisions.sorted() && Set(revisions).count == revisions.count)
      recorder.stop()
    }
  }

  @Test(
    "a watch leaves a member that goes silent without closing its connection (a server losing power)"
  )
  func watchLeavesSilentMember() async throws {
    try await withCluster { cluster, store in
      let first = try await store.put("/f/0", "0".bytes)
      let recorder = WatchRecorder(store.watch(prefix: "/f/", fromRevision: first))
      _ = try await recorder.waitForEvents(1)
      // The store talks to the first member it reached: freeze that one. Its TCP connections stay
      // open, so only the store's own check of the member can move the watch.
      let victim = cluster.members[0].name
      cluster.freeze(victim)
      defer { cluster.thaw(victim) }
      for index in 1...3 {
        try await eventually("write \(index) with \(victim) frozen", timeout: .seconds(60)) {
          (try? await store.put("/f/\(index)", "\(index)".bytes)) != nil
        }
      }
      let events = try await recorder.waitForEvents(4, timeout: .seconds(60))
      #expect(events.map(\.key) == (0...3).map { "/f/\($0)" })
      recorder.stop()
    }
  }

  @Test("reads and writes go on with one of three members down")
  func oneMemberDown() async throws {
    try await withCluster { cluster, store in
      try await store.put("/k", "before".bytes)
      for member in cluster.members.map(\.name) {
        cluster.kill(member)
        try await eventually("a write with \(member) down", timeout: .seconds(30)) {
          (try? await store.put("/k", member.bytes)) != nil ? true : nil
        }
        #expect(try await store.get("/k")?.value == member.bytes)
        try cluster.restart(member)
        try await cluster.waitUntilHealthy()
      }
    }
  }

  @Test("without quorum a write fails with unavailable instead of hanging")
  func noQuorum() async throws {
    try await withCluster { cluster, store in
      try await store.put("/q", "1".bytes)
      cluster.kill(cluster.members[1].name)
      cluster.kill(cluster.members[2].name)
      do {
        try await store.put("/q", "2".bytes)
        Issue.record("a write succeeded without quorum")
      } catch let error as KazeError {
        #expect(error.code == .unavailable)
      }
    }
  }

  @Test("change signals keep coming across a member restart")
  func changeSignalsSurvive() async throws {
    try await withCluster { cluster, store in
      let counter = SignalCounter()
      let consumer = Task {
        for await _ in store.changeSignals(["/s/"]) { counter.increment() }
      }
      defer { consumer.cancel() }
      try await Task.sleep(for: .milliseconds(300))
      try await store.put("/s/a", Data())
      try await eventually("a first signal", timeout: .seconds(10)) {
        counter.value > 0 ? true : nil
      }
      cluster.kill(cluster.members[0].name)
      let before = counter.value
      try await eventually("a signal after the member died", timeout: .seconds(30)) {
        _ = try? await store.put("/s/b", Data())
        return counter.value > before ? true : nil
      }
    }
  }
}

final class SignalCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0
  func increment() { lock.withLock { count += 1 } }
  var value: Int { lock.withLock { count } }
}
