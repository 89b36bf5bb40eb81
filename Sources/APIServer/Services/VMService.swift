import ClusterStore
import Foundation
import KazeModel
import Networking
import Scheduler

/// The VM logic behind the routes: validation against the store, turning requests into desired
/// state, and waiting for the node agent where the caller asked to.
struct VMService: Sendable {
  let environment: APIEnvironment
  var repository: Repository { environment.repository }

  func create(_ request: CreateVMRequest, force: Bool = false) async throws -> VMView {
    try request.validate()
    guard let image = try await repository.image(request.image) else {
      let names = try await repository.images().map(\.name)
      throw KazeError.invalid(
        "image",
        "no image named '\(request.image)'"
          + (names.isEmpty ? "; import one first" : "; available: \(names.joined(separator: ", "))")
      )
    }
    let cpus = request.cpus ?? 1
    let memory = request.memoryMiB ?? 256
    let nics = request.nics ?? [NICRequest(network: "user")]
    let nicKinds = try nics.enumerated().map { index, nic in
      try nic.kind(field: "nics[\(index)]")
    }
    var fit = PlacementRequest(vm: request.name, cpus: cpus, memoryMiB: memory)
    fit.bridges = try await checkBridges(nicKinds)
    fit.affinityGroup = request.affinityGroup
    fit.antiAffinityGroup = request.antiAffinityGroup
    fit.nodeSelector = request.nodeSelector ?? [:]
    try await checkFits(fit)
    if let node = request.node { try await checkFits(fit, on: node) }
    let id = UUID()
    var spec = VMSpec(
      cpus: cpus, memoryMiB: memory, machine: request.machine ?? .pc,
      firmware: request.firmware ?? .bios, osType: request.osType ?? .linux,
      cpuModel: request.cpuModel)
    spec.affinityGroup = request.affinityGroup
    spec.antiAffinityGroup = request.antiAffinityGroup
    spec.nodeSelector = request.nodeSelector
    spec.replicaNode = request.replicaNode
    spec.tablet = request.tablet ?? true
    if let kernel = image.kernelPath {
      let cmdline = ["console=ttyS0", image.cmdline, request.cmdline].compactMap { $0 }
        .filter { !$0.isEmpty }.joined(separator: " ")
      spec.boot = .kernel(
        KernelBoot(kernelPath: kernel, initrdPath: image.initrdPath, cmdline: cmdline))
    } else if request.cmdline != nil {
      throw KazeError.invalid(
        "cmdline",
        "image '\(image.name)' boots from disk; a kernel command line needs a kernel image")
    }
    var requested = try (request.disks ?? []).enumerated().map { index, disk in
      (try Validators.size(disk.size, field: "disks[\(index)].size"), disk.pool ?? image.pool)
    }
    if let base = image.diskPath, let baseSize = image.diskSizeBytes {
      let first = requested.isEmpty ? (baseSize, image.pool) : requested.removeFirst()
      if first.0 < baseSize {
        throw KazeError.invalid(
          "disks[0].size",
          "\(first.0.humanBytes) is smaller than image \(image.name)'s disk (\(baseSize.humanBytes))"
        )
      }
      spec.disks.append(
        DiskSpec(name: "disk0", pool: first.1, sizeBytes: first.0, backingPath: base))
    }
    for (size, pool) in requested {
      spec.disks.append(DiskSpec(name: "disk\(spec.disks.count)", pool: pool, sizeBytes: size))
    }
    let pools = PoolNames(repository: repository)
    for (index, disk) in spec.disks.enumerated() {
      _ = try await pools.require(disk.pool, field: "disks[\(index)].pool")
    }
    if let replicaNode = request.replicaNode {
      guard spec.disks.contains(where: { $0.pool == Replication.poolName }) else {
        throw KazeError.invalid(
          "replicaNode", "the VM has no disk on the '\(Replication.poolName)' pool to replicate")
      }
      let names = try await repository.nodes().map(\.name)
      guard names.contains(replicaNode) else {
        throw KazeError.invalid(
          "replicaNode",
          "no node named '\(replicaNode)'; nodes: \(names.sorted().joined(separator: ", "))")
      }
    }
    spec.nics = zip(nics, nicKinds).enumerated().map { index, nic in
      NICSpec(kind: nic.1, mac: nic.0.mac ?? MACAddress.stable(vmID: id, index: index))
    }
    let vm = VM(
      id: id, name: request.name, image: image.name, spec: spec,
      desired: request.start == true ? .running : .stopped, node: request.node,
      epoch: request.node == nil ? 0 : 1, ha: request.ha)
    if vm.ha?.enabled == true && !force { try await admitHA(vm) }
    try await repository.createVM(vm)
    try await repository.record(
      KazeEvent(kind: "vm.created", vm: vm.name, message: "created from \(image.name)"))
    return VMView(vm: vm, status: VMStatus(phase: .pending))
  }

  /// Refuses at once what no node could ever run, and what no node can run now.
  func checkFits(_ request: PlacementRequest, excluding: String? = nil) async throws {
    let cpus = request.cpus
    let memoryMiB = request.memoryMiB
    let nodes = try await repository.nodes()
    guard !nodes.isEmpty else { return }
    let reserve = environment.policy.reservedMemoryMiB
    if let largest = nodes.max(by: { $0.memoryMiB < $1.memoryMiB }),
      memoryMiB > largest.memoryMiB - reserve
    {
      throw KazeError.invalid(
        "memoryMiB",
        "\(memoryMiB) MiB is more than any node can give a VM (largest: \(largest.name) with "
          + "\(largest.memoryMiB - reserve) MiB usable)")
    }
    if let widest = nodes.max(by: { $0.cpus < $1.cpus }), cpus > widest.cpus {
      throw KazeError.invalid(
        "cpus",
        "\(cpus) is more than any node has (largest: \(widest.name) with \(widest.cpus) CPUs)")
    }
    let vms = try await repository.vms().filter { $0.name != excluding }
    let snapshot = ClusterSnapshot(
      nodes: nodes, alive: try await repository.aliveNodes(), vms: vms)
    _ = try Placement.place(request, in: snapshot, policy: environment.policy)
  }

  /// The bridges bridged NICs join, refusing one that no node has (as far as nodes report
  /// their bridges: a node that does not report them could have any).
  func checkBridges(_ kinds: [NICSpec.Kind]) async throws -> Set<String> {
    let wanted = kinds.enumerated().compactMap { index, kind in kind.bridgeName.map { (index, $0) }
    }
    let bridges = Set(wanted.map(\.1))
    guard !wanted.isEmpty else { return bridges }
    let nodes = try await repository.nodes()
    guard !nodes.isEmpty, nodes.allSatisfy({ $0.bridges != nil }) else { return bridges }
    for (index, bridge) in wanted
    where !nodes.contains(where: { $0.bridges?.contains(bridge) == true }) {
      let present = BridgeList(nodes: nodes).description
      throw KazeError.invalid(
        "nics[\(index)].network",
        "no node has a bridge named '\(bridge)'; "
          + (present.isEmpty
            ? "the nodes have no Linux bridge: create one (ip link add NAME type bridge) or use 'user'"
            : "bridges: \(present)"),
        reason: present.isEmpty ? "network.no-bridges" : "network.no-bridge",
        values: ["bridge": bridge, "bridges": present])
    }
    return bridges
  }

  /// Refuses a node the VM was asked to be created on when it could not run it.
  func checkFits(_ request: PlacementRequest, on node: String) async throws {
    let snapshot = ClusterSnapshot(
      nodes: try await repository.nodes(), alive: try await repository.aliveNodes(),
      vms: try await repository.vms())
    guard let entry = snapshot.nodes.first(where: { $0.node.name == node }) else {
      throw KazeError.invalid(
        "node",
        "no node named '\(node)'; nodes: \(snapshot.nodes.map(\.node.name).joined(separator: ", "))"
      )
    }
    if let reason = Placement.infeasibility(request, on: entry, policy: environment.policy) {
      throw KazeError(
        .insufficientResources, "\(request.vm) cannot run on \(node): \(node) \(reason)")
    }
  }

  /// Refuses disk and snapshot work on a VM that runs or is about to (409).
  func requireStopped(_ vm: VM, doing action: String) async throws {
    let status = try await repository.status(vm.name)
    if status.phase.hasProcess || vm.desired != .stopped {
      throw KazeError(
        .invalidState,
        "cannot \(action) \(vm.name) while it is \(status.phase.rawValue); stop it first")
    }
  }

  func view(_ name: String) async throws -> VMView {
    let vm = try await repository.requireVM(name)
    return VMView(
      vm: vm, status: try await repository.status(name),
      replication: try await repository.replication(name))
  }

  /// Refuses an HA VM the cluster could not restart if its worst node failed (N+1).
  func admitHA(_ vm: VM) async throws {
    let snapshot = ClusterSnapshot(
      nodes: try await repository.nodes(), alive: try await repository.aliveNodes(),
      vms: try await repository.vms())
    if let reason = HAAdmission.shortfall(
      vms: try await repository.vms(), adding: vm, in: snapshot, policy: environment.policy)
    {
      throw KazeError(
        .insufficientResources,
        "HA admission: \(reason); add capacity or pass force=true to accept it", field: "ha")
    }
  }

  func update(
    _ name: String, _ request: UpdateVMRequest, force: Bool = false
  ) async throws -> VMView {
    try request.validate()
    let current = try await repository.requireVM(name)
    if request.cpus != nil || request.memoryMiB != nil {
      var changed = current
      changed.spec.cpus = request.cpus ?? current.spec.cpus
      changed.spec.memoryMiB = request.memoryMiB ?? current.spec.memoryMiB
      try await checkFits(PlacementRequest(for: changed), excluding: name)
    }
    if let ha = request.ha, ha.enabled && current.ha?.enabled != true && !force {
      var candidate = current
      candidate.ha = ha
      try await admitHA(candidate)
    }
    if request.cmdline != nil, case .disk = current.spec.boot {
      throw KazeError.invalid("cmdline", "\(name) boots from disk; it has no kernel command line")
    }
    try await repository.updateVM(name) { vm in
      if let cpus = request.cpus { vm.spec.cpus = cpus }
      if let memory = request.memoryMiB { vm.spec.memoryMiB = memory }
      if let ha = request.ha { vm.ha = ha }
      if let cmdline = request.cmdline, case .kernel(var boot) = vm.spec.boot {
        boot.cmdline = "console=ttyS0 " + cmdline
        vm.spec.boot = .kernel(boot)
      }
    }
    try await repository.record(
      KazeEvent(kind: "vm.updated", vm: name, message: "settings changed (effective at next start)")
    )
    return try await view(name)
  }

  func perform(_ action: VMAction, on name: String, wait: Bool) async throws -> VMView {
    let vm = try await repository.requireVM(name)
    let status = try await repository.status(name)
    try action.check(phase: status.phase, desired: vm.desired)
    try await repository.updateVM(name) { vm in
      switch action {
      case .start, .resume: vm.desired = .running
      case .stop:
        vm.desired = .stopped
        vm.stopMode = .hard
      case .shutdown:
        vm.desired = .stopped
        vm.stopMode = .acpi
      case .pause: vm.desired = .paused
      case .reboot: vm.rebootRequests += 1
      }
    }
    try await repository.record(
      KazeEvent(
        kind: "vm.\(action.rawValue)-requested", vm: name, message: "\(action.rawValue) requested"))
    guard wait else { return try await view(name) }
    return try await waitFor(name, action: action, rebootsBefore: vm.rebootRequests)
  }

  /// Waits until the agent reports the state the action leads to (or a failure).
  private func waitFor(_ name: String, action: VMAction, rebootsBefore: Int) async throws -> VMView
  {
    let target: Set<VMPhase> =
      switch action {
      case .start, .resume, .reboot: [.running]
      case .stop, .shutdown: [.stopped]
      case .pause: [.paused]
      }
    return try await Waiting.until(
      timeout: environment.waitTimeout, what: "\(name) to \(action.rawValue)"
    ) {
      let view = try await view(name)
      if action == .reboot && view.status.rebootsDone <= rebootsBefore { return nil }
      if target.contains(view.status.phase) { return view }
      if view.status.phase == .failed {
        throw KazeError(
          .internalError,
          "\(name) failed to \(action.rawValue): \(view.status.lastError ?? "unknown error")")
      }
      return nil
    }
  }

  func delete(_ name: String, force: Bool) async throws -> KazeTask? {
    let vm = try await repository.requireVM(name)
    let status = try await repository.status(name)
    if !force && (vm.desired != .stopped || status.phase.hasProcess) {
      throw KazeError(
        .invalidState, "\(name) is \(status.phase.rawValue); stop it first or delete with force")
    }
    guard let node = vm.node else {
      try await repository.deleteVM(name)
      try await repository.record(KazeEvent(kind: "vm.deleted", vm: name, message: "deleted"))
      return nil
    }
    if force {
      try await repository.updateVM(name) {
        $0.desired = .stopped
        $0.stopMode = .hard
      }
    }
    return try await TaskService(environment: environment).submit(
      KazeTask(kind: .vmDelete, vm: name, node: node), wait: true)
  }
}
