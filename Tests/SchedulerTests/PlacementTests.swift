import KazeModel
import Scheduler
import Testing

@Suite("Placement")
struct PlacementTests {
  func node(_ name: String, cpus: Int = 8, memory: Int = 16_384, maintenance: Bool = false) -> Node
  {
    Node(
      name: name, address: "127.0.0.1:1", cpus: cpus, memoryMiB: memory, accelerator: .tcg,
      acceleratorReason: "test", qemuVersion: "7.2",
      pools: [PoolInfo(name: "local", kind: "dir", path: "/", capacityBytes: 1, freeBytes: 1)],
      maintenance: maintenance)
  }

  @Test("spread picks the emptiest node")
  func spread() throws {
    let snapshot = ClusterSnapshot(nodes: [
      .init(node: node("a"), online: true, allocatedCPUs: 4, allocatedMemoryMiB: 8000, vmCount: 4),
      .init(node: node("b"), online: true, allocatedCPUs: 1, allocatedMemoryMiB: 1000, vmCount: 1),
    ])
    let decision = try Placement.place(
      PlacementRequest(vm: "x", cpus: 1, memoryMiB: 512), in: snapshot)
    #expect(decision.node == "b")
  }

  @Test("pack picks the fullest node that still fits")
  func pack() throws {
    let snapshot = ClusterSnapshot(nodes: [
      .init(node: node("a"), online: true, allocatedCPUs: 4, allocatedMemoryMiB: 8000, vmCount: 4),
      .init(node: node("b"), online: true, allocatedCPUs: 1, allocatedMemoryMiB: 1000, vmCount: 1),
    ])
    let decision = try Placement.place(
      PlacementRequest(vm: "x", cpus: 1, memoryMiB: 512), in: snapshot,
      policy: PlacementPolicy(strategy: .pack))
    #expect(decision.node == "a")
  }

  @Test("offline and maintenance nodes are never chosen")
  func excluded() throws {
    let snapshot = ClusterSnapshot(nodes: [
      .init(node: node("a"), online: false),
      .init(node: node("b", maintenance: true), online: true),
      .init(node: node("c", memory: 4096), online: true, allocatedMemoryMiB: 3000),
    ])
    let decision = try Placement.place(
      PlacementRequest(vm: "x", cpus: 1, memoryMiB: 256), in: snapshot)
    #expect(decision.node == "c")
  }

  @Test("a refusal explains every node")
  func refusal() {
    let snapshot = ClusterSnapshot(nodes: [
      .init(node: node("a", memory: 4096), online: true, allocatedMemoryMiB: 1000),
      .init(node: node("b", memory: 8192), online: true, allocatedMemoryMiB: 2000),
      .init(node: node("c"), online: false),
    ])
    do {
      _ = try Placement.place(PlacementRequest(vm: "big", cpus: 2, memoryMiB: 8192), in: snapshot)
      Issue.record("placed a VM that fits nowhere")
    } catch let error as KazeError {
      #expect(error.code == .insufficientResources)
      #expect(error.message.contains("a has 2584 MiB free"))
      #expect(error.message.contains("b has 5680 MiB free"))
      #expect(error.message.contains("c is offline"))
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test("the snapshot counts what is already placed")
  func snapshotFromVMs() {
    let vms = [
      VM(name: "one", image: nil, spec: VMSpec(cpus: 2, memoryMiB: 1024), node: "a"),
      VM(name: "two", image: nil, spec: VMSpec(cpus: 1, memoryMiB: 512), node: "a"),
      VM(name: "three", image: nil, spec: VMSpec(cpus: 1, memoryMiB: 512)),
    ]
    let snapshot = ClusterSnapshot(nodes: [node("a"), node("b")], alive: ["a"], vms: vms)
    #expect(snapshot.nodes[0].allocatedCPUs == 3)
    #expect(snapshot.nodes[0].allocatedMemoryMiB == 1536)
    #expect(snapshot.nodes[0].vmCount == 2)
    #expect(snapshot.nodes[1].online == false)
  }
}
