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

@Suite("Placement groups and large simulated clusters")
struct PlacementScaleTests {
  static func node(_ index: Int, cpus: Int = 16, memory: Int = 65_536) -> Node {
    Node(
      name: String(format: "node-%04d", index), address: "10.0.0.1:7070", cpus: cpus,
      memoryMiB: memory, accelerator: .kvm, acceleratorReason: "simulated", qemuVersion: "7.2",
      pools: [PoolInfo(name: "shared", kind: "shared", path: "/", capacityBytes: 1, freeBytes: 1)])
  }

  @Test("anti-affinity keeps a group's VMs on different nodes and says why a node is refused")
  func antiAffinity() throws {
    var snapshot = ClusterSnapshot(nodes: (1...3).map { .init(node: Self.node($0), online: true) })
    var requests = (1...3).map { PlacementRequest(vm: "web-\($0)", cpus: 1, memoryMiB: 1024) }
    for index in requests.indices { requests[index].antiAffinityGroup = "web" }
    let decisions = try Placement.placeAll(requests, in: &snapshot).map { try $0.get().node }
    #expect(Set(decisions).count == 3)
    var fourth = PlacementRequest(vm: "web-4", cpus: 1, memoryMiB: 1024)
    fourth.antiAffinityGroup = "web"
    do {
      _ = try Placement.place(fourth, in: snapshot)
      Issue.record("placed a fourth replica on a node that already runs one")
    } catch let error as KazeError {
      #expect(error.message.contains("anti-affinity group web"))
    }
  }

  @Test("affinity keeps a group's VMs together on the first member's node")
  func affinity() throws {
    var snapshot = ClusterSnapshot(nodes: (1...4).map { .init(node: Self.node($0), online: true) })
    var requests = (1...5).map { PlacementRequest(vm: "db-\($0)", cpus: 1, memoryMiB: 1024) }
    for index in requests.indices { requests[index].affinityGroup = "db" }
    let decisions = try Placement.placeAll(requests, in: &snapshot).map { try $0.get().node }
    #expect(Set(decisions).count == 1)
  }

  @Test("10,000 VMs onto 1,000 simulated nodes: all placed, none over capacity, spread evenly")
  func scale() throws {
    var snapshot = ClusterSnapshot(
      nodes: (1...1000).map { .init(node: Self.node($0), online: true) })
    let requests = (1...10_000).map {
      PlacementRequest(
        vm: "vm-\($0)", cpus: [1, 2, 4][$0 % 3], memoryMiB: [1024, 2048, 4096][$0 % 3])
    }
    let policy = PlacementPolicy()
    let results = Placement.placeAll(requests, in: &snapshot, policy: policy)
    #expect(results.allSatisfy { (try? $0.get()) != nil })
    for entry in snapshot.nodes {
      #expect(entry.allocatedMemoryMiB <= entry.node.memoryMiB - policy.reservedMemoryMiB)
      #expect(Double(entry.allocatedCPUs) <= Double(entry.node.cpus) * policy.cpuOvercommit)
    }
    let memory = snapshot.nodes.map(\.allocatedMemoryMiB)
    #expect(
      (memory.max() ?? 0) - (memory.min() ?? 0) <= 2 * 4096,
      "spread: \(memory.min() ?? 0)…\(memory.max() ?? 0) MiB per node")
  }

  @Test("a full simulated cluster refuses the rest and explains it")
  func full() {
    var snapshot = ClusterSnapshot(
      nodes: (1...10).map { .init(node: Self.node($0, memory: 4096 + 512), online: true) })
    let requests = (1...50).map { PlacementRequest(vm: "vm-\($0)", cpus: 1, memoryMiB: 1024) }
    let results = Placement.placeAll(requests, in: &snapshot)
    #expect(results.filter { (try? $0.get()) != nil }.count == 40)
    if case .failure(let error) = results.last {
      #expect(error.code == .insufficientResources)
      #expect(error.message.contains("node-0001 has 0 MiB free"))
    } else {
      Issue.record("the 50th VM was placed")
    }
  }
}

@Suite("Migration compatibility")
struct MigrationCheckTests {
  func node(_ name: String, accelerator: Accelerator = .kvm, cpu: String = "Xeon E5") -> Node {
    Node(
      name: name, address: "10.0.0.1:7070", cpus: 8, memoryMiB: 16_384, accelerator: accelerator,
      acceleratorReason: "test", qemuVersion: "7.2", hostCPU: cpu,
      pools: [
        PoolInfo(name: "local", kind: "dir", path: "/l", capacityBytes: 1, freeBytes: 1),
        PoolInfo(name: "shared", kind: "shared", path: "/s", capacityBytes: 1, freeBytes: 1),
      ])
  }

  func vm(model: String? = nil, pool: String = "shared") -> VM {
    VM(
      name: "web", image: nil,
      spec: VMSpec(
        cpuModel: model, disks: [DiskSpec(name: "disk0", pool: pool, sizeBytes: 1 << 30)]),
      node: "a")
  }

  @Test("the host CPU model only moves between identical host CPUs")
  func hostModel() {
    let reason = MigrationCheck.incompatibility(
      of: vm(), from: node("a", cpu: "Xeon E5"), to: node("b", cpu: "EPYC 7302"))
    #expect(reason?.contains("host CPU") == true)
    #expect(MigrationCheck.incompatibility(of: vm(), from: node("a"), to: node("b")) == nil)
  }

  @Test("a named model (a baseline) moves between different host CPUs")
  func namedModel() {
    #expect(
      MigrationCheck.incompatibility(
        of: vm(), from: node("a", cpu: "Xeon E5"), to: node("b", cpu: "EPYC 7302"),
        runningModel: "Nehalem") == nil)
    #expect(
      MigrationCheck.incompatibility(
        of: vm(model: "Nehalem"), from: node("a", cpu: "Xeon E5"), to: node("b", cpu: "EPYC"))
        == nil)
  }

  @Test("KVM and TCG nodes do not exchange VMs; local disks move to a node with that pool")
  func acceleratorsAndDisks() {
    #expect(
      MigrationCheck.incompatibility(
        of: vm(model: "qemu64"), from: node("a"), to: node("b", accelerator: .tcg))?.contains("tcg")
        == true)
    #expect(
      MigrationCheck.incompatibility(
        of: vm(model: "qemu64", pool: "local"), from: node("a"), to: node("b")) == nil)
    var bare = node("b")
    bare.pools.removeAll { $0.name == "local" }
    #expect(
      MigrationCheck.incompatibility(
        of: vm(model: "qemu64", pool: "local"), from: node("a"), to: bare)?
        .contains("local pool 'local'") == true)
    #expect(
      MigrationCheck.incompatibility(
        of: vm(model: "qemu64", pool: "replicated"), from: node("a"), to: node("b"))?
        .contains("replicated") == true)
  }
}

@Suite("HA admission control (N+1)")
struct HAAdmissionTests {
  func node(_ name: String, memory: Int = 4096 + 512) -> Node {
    Node(
      name: name, address: "10.0.0.1:7070", cpus: 8, memoryMiB: memory, accelerator: .kvm,
      acceleratorReason: "test", qemuVersion: "7.2",
      pools: [PoolInfo(name: "shared", kind: "shared", path: "/s", capacityBytes: 1, freeBytes: 1)])
  }

  func ha(_ name: String, on node: String, memory: Int) -> VM {
    VM(
      name: name, image: nil, spec: VMSpec(memoryMiB: memory), node: node, ha: HAPolicy())
  }

  @Test("HA VMs that the other nodes can absorb are admitted")
  func admitted() {
    let nodes = [node("a"), node("b"), node("c")]
    let vms = [ha("one", on: "a", memory: 2048), ha("two", on: "b", memory: 2048)]
    let snapshot = ClusterSnapshot(nodes: nodes, alive: ["a", "b", "c"], vms: vms)
    let candidate = VM(name: "three", image: nil, spec: VMSpec(memoryMiB: 1024), ha: HAPolicy())
    #expect(HAAdmission.shortfall(vms: vms, adding: candidate, in: snapshot) == nil)
  }

  @Test("an HA VM that could not restart if the worst node failed is refused, with the reason")
  func refused() {
    let nodes = [node("a"), node("b")]
    let vms = [ha("one", on: "a", memory: 3072), ha("two", on: "b", memory: 3072)]
    let snapshot = ClusterSnapshot(nodes: nodes, alive: ["a", "b"], vms: vms)
    let candidate = VM(name: "three", image: nil, spec: VMSpec(memoryMiB: 512), ha: HAPolicy())
    let reason = HAAdmission.shortfall(vms: vms, adding: candidate, in: snapshot)
    #expect(reason?.contains("could not restart") == true, "\(reason ?? "admitted")")
  }

  @Test("one node cannot give HA")
  func singleNode() {
    let snapshot = ClusterSnapshot(nodes: [node("a")], alive: ["a"], vms: [])
    let candidate = VM(name: "x", image: nil, spec: VMSpec(memoryMiB: 512), ha: HAPolicy())
    #expect(
      HAAdmission.shortfall(vms: [], adding: candidate, in: snapshot)?.contains("two nodes") == true
    )
  }
}

@Suite("Placement of bridged NICs")
struct BridgePlacementTests {
  func node(_ name: String, bridges: [String]?) -> ClusterSnapshot.NodeEntry {
    var node = Node(
      name: name, address: "127.0.0.1:1", cpus: 8, memoryMiB: 16_384, accelerator: .tcg,
      acceleratorReason: "test", qemuVersion: "7.2")
    node.bridges = bridges
    return .init(node: node, online: true)
  }

  func vm(bridges: [String]) -> VM {
    var spec = VMSpec(cpus: 1, memoryMiB: 256)
    spec.nics =
      bridges.map { NICSpec(kind: .bridge($0), mac: "52:54:00:00:00:01") } + [
        NICSpec(kind: .user, mac: "52:54:00:00:00:02")
      ]
    return VM(name: "web", image: "tiny", spec: spec)
  }

  @Test("a VM on a bridge goes only to a node that has it; the refusal names the bridge")
  func onlyWhereTheBridgeIs() throws {
    let request = PlacementRequest(for: vm(bridges: ["br0", "lab"]))
    #expect(request.bridges == ["br0", "lab"])
    let snapshot = ClusterSnapshot(nodes: [
      node("a", bridges: ["br0"]), node("b", bridges: ["br0", "lab"]), node("c", bridges: []),
    ])
    #expect(try Placement.place(request, in: snapshot).node == "b")
    let none = ClusterSnapshot(nodes: [node("a", bridges: ["br0"]), node("c", bridges: [])])
    let error = #expect(throws: KazeError.self) { try Placement.place(request, in: none) }
    #expect(error?.message.contains("a has no bridge lab") == true, "\(String(describing: error))")
    #expect(error?.message.contains("c has no bridge br0, lab") == true)
  }

  @Test("a node that does not report its bridges is not refused for them")
  func unreported() throws {
    let request = PlacementRequest(for: vm(bridges: ["br0"]))
    let snapshot = ClusterSnapshot(nodes: [node("old", bridges: nil)])
    #expect(try Placement.place(request, in: snapshot).node == "old")
  }
}
