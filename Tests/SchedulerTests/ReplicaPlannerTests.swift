import Foundation
import KazeModel
import Scheduler
import Testing

@Suite("Replica planner")
struct ReplicaPlannerTests {
  func node(_ name: String, replicated: Bool = true, maintenance: Bool = false) -> Node {
    var pools = [PoolInfo(name: "local", kind: "dir", path: "/", capacityBytes: 1, freeBytes: 1)]
    if replicated {
      pools.append(
        PoolInfo(name: "replicated", kind: "replicated", path: "/r", capacityBytes: 1, freeBytes: 1)
      )
    }
    return Node(
      name: name, address: "127.0.0.1:1", cpus: 8, memoryMiB: 16_384, accelerator: .tcg,
      acceleratorReason: "test", qemuVersion: "7.2", pools: pools, maintenance: maintenance)
  }

  func vm(_ name: String = "db", epoch: Int = 2, replicaNode: String? = nil) -> VM {
    var spec = VMSpec(disks: [DiskSpec(name: "disk0", pool: "replicated", sizeBytes: 1 << 30)])
    spec.replicaNode = replicaNode
    return VM(name: name, image: "tiny", spec: spec, node: "a", epoch: epoch)
  }

  func replication(
    secondary: String? = "b", epoch: Int = 2, state: ReplicaState = .inSync
  ) -> Replication {
    Replication(
      vm: "db", primary: "a", secondary: secondary, epoch: epoch,
      disks: ["disk0": DiskReplica(state: state, totalBytes: 1 << 30)], seeded: true)
  }

  @Test(
    "the secondary is never the primary, and only a node that is up, not in maintenance, with the pool"
  )
  func secondaryRules() {
    let nodes = [
      node("a"), node("b", maintenance: true), node("c", replicated: false), node("d"), node("e"),
    ]
    let chosen = ReplicaPlanner.secondary(
      for: vm(), primary: "a", nodes: nodes, alive: ["a", "b", "c", "d"], replications: [:])
    #expect(chosen == "d")
    #expect(
      ReplicaPlanner.secondary(
        for: vm(), primary: "a", nodes: [node("a")], alive: ["a"], replications: [:]) == nil)
  }

  @Test("the admin's replica node wins when it qualifies; otherwise the least loaded node")
  func secondaryPreference() {
    let nodes = [node("a"), node("b"), node("c")]
    let load = ["other": Replication(vm: "other", primary: "c", secondary: "b", epoch: 1)]
    #expect(
      ReplicaPlanner.secondary(
        for: vm(), primary: "a", nodes: nodes, alive: ["a", "b", "c"], replications: load) == "c")
    #expect(
      ReplicaPlanner.secondary(
        for: vm(replicaNode: "b"), primary: "a", nodes: nodes, alive: ["a", "b", "c"],
        replications: load) == "b")
    #expect(
      ReplicaPlanner.secondary(
        for: vm(replicaNode: "a"), primary: "a", nodes: nodes, alive: ["a", "b", "c"],
        replications: load) == "c", "the primary is never its own secondary")
  }

  @Test("failover goes to the in-sync secondary only")
  func failover() throws {
    #expect(
      try ReplicaPlanner.failoverTarget(of: vm(), replication: replication(), alive: ["b"]).get()
        == "b")
    let behind = ReplicaPlanner.failoverTarget(
      of: vm(), replication: replication(state: .degraded), alive: ["b"])
    #expect(throws: KazeError.self) { try behind.get() }
    if case .failure(let error) = behind {
      #expect(error.message.contains("--accept-data-loss"))
      #expect(error.message.contains("disk0 degraded"))
    }
    #expect(
      try ReplicaPlanner.failoverTarget(
        of: vm(), replication: replication(state: .resyncing), alive: ["b"], acceptDataLoss: true
      ).get() == "b")
    #expect(throws: KazeError.self) {
      try ReplicaPlanner.failoverTarget(of: vm(), replication: replication(), alive: ["c"]).get()
    }
    #expect(throws: KazeError.self) {
      try ReplicaPlanner.failoverTarget(
        of: vm(), replication: replication(secondary: nil), alive: ["b"]
      )
      .get()
    }
    #expect(throws: KazeError.self, "a record from an older epoch is not trusted") {
      try ReplicaPlanner.failoverTarget(of: vm(epoch: 3), replication: replication(), alive: ["b"])
        .get()
    }
  }

  @Test("a failover swaps the roles at the new epoch and starts degraded, without a secondary")
  func swap() {
    let swapped = ReplicaPlanner.swapped(replication(), to: "b", epoch: 3, at: Date())
    #expect(swapped.primary == "b")
    #expect(swapped.previousPrimary == "a")
    #expect(swapped.secondary == nil)
    #expect(swapped.epoch == 3)
    #expect(swapped.disks["disk0"]?.state == .degraded)
    #expect(swapped.disks["disk0"]?.export == nil)
    #expect(swapped.seeded)
  }

  @Test("a migration reuses the copies only on the in-sync secondary of the current epoch")
  func reusableCopies() {
    let db = vm()
    #expect(
      ReplicaPlanner.reusableCopies(of: db, replication: replication(), target: "b") == ["disk0"])
    #expect(ReplicaPlanner.reusableCopies(of: db, replication: replication(), target: "c").isEmpty)
    #expect(ReplicaPlanner.reusableCopies(of: db, replication: nil, target: "b").isEmpty)
    #expect(
      ReplicaPlanner.reusableCopies(
        of: db, replication: replication(state: .resyncing), target: "b"
      )
      .isEmpty)
    #expect(
      ReplicaPlanner.reusableCopies(of: db, replication: replication(epoch: 1), target: "b")
        .isEmpty)
    // A disk of the spec without an entry in the record has no copy to reuse.
    var twoDisks = db
    twoDisks.spec.disks.append(DiskSpec(name: "disk1", pool: "replicated", sizeBytes: 1 << 20))
    #expect(
      ReplicaPlanner.reusableCopies(of: twoDisks, replication: replication(), target: "b").isEmpty)
    // Disks on other pools do not count.
    var mixed = db
    mixed.spec.disks.append(DiskSpec(name: "scratch", pool: "local", sizeBytes: 1 << 20))
    #expect(
      ReplicaPlanner.reusableCopies(of: mixed, replication: replication(), target: "b")
        == ["disk0"])
  }

  @Test("export names carry the epoch and start with a letter")
  func exportNames() throws {
    let id = try #require(UUID(uuidString: "20c172cb-0000-4000-8000-000000000000"))
    #expect(Replication.exportName(vmID: id, disk: "disk0", epoch: 7) == "vm20c172cb-disk0-e7")
  }
}
