import ClusterStore
import Fencing
import Foundation
import Hypervisor
import KazeModel
import Logging
import Storage

/// Runs on every node: keeps the node registered, and makes the QEMU processes of the VMs
/// assigned to this node match what the store asks for, writing back what it observes.
/// It is the only writer of `VMStatus` for its VMs; it never decides placement.
public actor NodeAgent {
  public nonisolated let config: NodeConfiguration
  let repository: Repository
  let logger: Logger
  var runtimes: [String: VMRuntime] = [:]
  /// Replication mirrors this node's QEMUs run, by "vm/disk".
  var mirrors: [String: MirrorLink] = [:]
  /// Whether any VM assigned here has replicated disks (else the replica monitor stays idle).
  var runsReplicatedVMs = false
  /// The VMs assigned to this node at the last reconcile round (what the metrics sampler reads).
  var assignedVMs: [VM] = []
  /// The bridges the node record lists (see `refreshHostFacts`); set from the record `run`
  /// registers.
  var reportedBridges: [String]?
  let kick: AsyncStream<Void>.Continuation
  private let kicks: AsyncStream<Void>
  /// Kills this node's HA QEMUs if its lease goes unrenewed (see `FencingWatchdog`).
  public nonisolated let fencing: FencingWatchdog
  /// The last hour of this node's and its VMs' load, for the API's graphs.
  public nonisolated let metrics: MetricsRecorder

  public init(config: NodeConfiguration, store: any ClusterStore, logger: Logger) {
    self.config = config
    self.fencing = FencingWatchdog(
      ttl: config.leaseTTL,
      directory: config.selfFencing ? FenceDirectory(path: config.fenceDirectory) : nil,
      guardArguments: config.watchdogDevice.map {
        ["--watchdog-device", $0, "--watchdog-timeout", "\(config.watchdogTimeout)"]
      } ?? [], logger: logger)
    self.repository = Repository(store: store)
    self.logger = logger
    self.metrics = MetricsRecorder()
    (kicks, kick) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
  }

  /// Takes the node's lease and registers it, reattaches to the QEMUs that kept running, then
  /// reconciles until cancelled. VMs keep running when this returns.
  public func run(node: Node) async throws {
    reportedBridges = node.bridges
    let fencing = self.fencing
    let (leased, leasedNow) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    let registration = NodeRegistration(
      store: repository.store, node: node, ttl: config.leaseTTL, logger: logger,
      renewed: {
        fencing.renewed(sentAt: $0)
        leasedNow.yield()
      },
      lost: { fencing.leaseLost() })
    fencing.start()
    defer { fencing.stop() }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await registration.run() }
      // The liveness key first, then the record: a leader that saw the record without the key
      // (while this node reattaches its QEMUs) would take the node for lost.
      for await _ in leased { break }
      try Task.checkCancellation()
      // A store that is briefly unavailable (an etcd election, a member restarting) must not
      // end kazed: both steps are tried again until they succeed.
      try await untilDone("registering the node") { try await registration.register() }
      try await untilDone("reattaching to running QEMUs") { try await self.recover() }
      group.addTask { [repository, kick] in
        for await _ in repository.store.changeSignals([
          StoreKeys.vms, StoreKeys.tasks, StoreKeys.replications,
        ]) {
          kick.yield()
        }
      }
      group.addTask { [kick] in
        while !Task.isCancelled {
          try? await Task.sleep(for: .seconds(1))
          kick.yield()
        }
      }
      group.addTask { await self.loop() }
      group.addTask { await self.runReplicaMonitor() }
      group.addTask { await self.runMetrics() }
      try await group.next()
      group.cancelAll()
    }
  }

  private func loop() async {
    for await _ in kicks {
      if Task.isCancelled { return }
      await reconcileAll()
    }
  }

  /// After kazed starts: find the QEMUs of this node's VMs through their pidfiles and attach to
  /// them, instead of starting second copies.
  func recover() async throws {
    try await killStaleCopies()
    let statuses = try await repository.statuses()
    for vm in try await repository.vms() where vm.node == config.name {
      // Already reattached by an earlier attempt that failed further on.
      if runtimes[vm.name]?.process != nil { continue }
      var runtime = VMRuntime()
      let previous = statuses[vm.name]
      runtime.crashRestarts = previous?.crashRestarts ?? 0
      runtime.rebootsDone = max(previous?.rebootsDone ?? 0, vm.rebootRequests)
      runtime.lastWritten = previous
      runtime.cpuModel = previous?.cpuModel
      runtime.epoch = vm.epoch
      let context = launchContext(for: vm, diskPaths: [], tapNames: [])
      if let process = QEMUProcess.find(vmID: vm.id, context: context) {
        do {
          let monitor = try await VMMonitor.connect(
            socketPath: context.qmpSocketPath, timeout: .seconds(5), logger: logger)
          runtime.process = process
          runtime.monitor = monitor
          runtime.phase = try await monitor.isRunning() ? .running : .paused
          runtime.startedAt = previous?.startedAt ?? Date()
          watchExit(of: vm.name, monitor: monitor)
          logger.info(
            "reattached to QEMU", metadata: ["vm": "\(vm.name)", "pid": "\(process.pid)"])
          try? await repository.record(
            KazeEvent(
              kind: "vm.reattached", vm: vm.name, node: config.name,
              message: "agent reattached to the running QEMU (pid \(process.pid))"))
        } catch is CancellationError {
          throw CancellationError()
        } catch {
          // Never kill a running guest because its monitor did not answer: keep the process and
          // attach again in a later round.
          runtime.process = process
          runtime.phase = .running
          runtime.startedAt = previous?.startedAt ?? Date()
          logger.warning("cannot attach to QEMU of \(vm.name) yet: \(error); will retry")
        }
      }
      runtimes[vm.name] = runtime
    }
    try await recoverIncomingMigrations()
  }

  /// Runs `work` until it succeeds, waiting longer between attempts (up to 5 s); only
  /// cancellation ends it early.
  func untilDone(_ what: String, _ work: () async throws -> Void) async throws {
    var pause = Duration.milliseconds(200)
    while true {
      do {
        try await work()
        return
      } catch  where Task.isCancelled {
        throw CancellationError()
      } catch {
        logger.warning("\(what): \(error); trying again in \(pause)")
        try await Task.sleep(for: pause)
        pause = min(pause * 2, .seconds(5))
      }
    }
  }

  /// Before anything else, a node that comes back (after a crash, or fenced and cut off) kills
  /// every QEMU it finds whose VM is no longer its own: the VM may run elsewhere by now.
  func killStaleCopies() async throws {
    let vms = try await repository.vms()
    let migrations = try await repository.migrations()
    var keep = Set(vms.filter { $0.node == config.name }.map { $0.id.uuidString.lowercased() })
    for migration in migrations where migration.isActive && migration.target == config.name {
      if let vm = vms.first(where: { $0.name == migration.vm }) {
        keep.insert(vm.id.uuidString.lowercased())
      }
    }
    let run = "\(config.dataDirectory)/run"
    for folder in (try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []
    where !keep.contains(folder) {
      guard let id = UUID(uuidString: folder) else { continue }
      let context = QEMULaunchContext(
        accelerator: config.accelerator.accelerator, runDirectory: "\(run)/\(folder)",
        diskPaths: [], tapNames: [])
      guard let process = QEMUProcess.find(vmID: id, context: context) else { continue }
      await process.kill()
      let name = vms.first { $0.id == id }?.name ?? folder
      logger.warning("killed a stale copy of \(name) (pid \(process.pid)): it is not this node's")
      try? await repository.record(
        KazeEvent(
          level: .warning, kind: "vm.stale-copy-killed", vm: vms.first { $0.id == id }?.name,
          node: config.name,
          message: "killed a stale copy (pid \(process.pid)) left on \(config.name)"))
    }
  }

  /// Incoming QEMUs this node prepared before it restarted are found again, or the migration
  /// they were waiting for fails (its source keeps the VM).
  func recoverIncomingMigrations() async throws {
    let vms = try await repository.vms()
    for migration in try await repository.migrations()
    where migration.isActive && migration.target == config.name && migration.state != .pending {
      guard let vm = vms.first(where: { $0.name == migration.vm }) else { continue }
      let context = launchContext(for: vm, diskPaths: [], tapNames: [])
      guard let process = QEMUProcess.find(vmID: vm.id, context: context),
        let monitor = try? await VMMonitor.connect(
          socketPath: context.qmpSocketPath, timeout: .seconds(5), logger: logger)
      else {
        await failMigration(
          migration, reason: "the target lost its incoming QEMU while kazed restarted")
        continue
      }
      var runtime = VMRuntime(rebootsDone: vm.rebootRequests)
      runtime.process = process
      runtime.monitor = monitor
      runtime.phase = .starting
      runtime.incomingMigration = migration.id
      runtimes[vm.name] = runtime
      watchExit(of: vm.name, monitor: monitor)
    }
  }

  func reconcileAll() async {
    let all: [VM]
    let outgoing: Set<String>
    let replications: [String: Replication]
    do {
      all = try await repository.vms()
      // Only clusters with replicated disks pay for reading their records.
      replications =
        all.contains(where: Replication.isReplicated) ? try await repository.replications() : [:]
      outgoing = Set(
        try await repository.migrations().filter { $0.isActive && $0.source == config.name }
          .map(\.vm))
    } catch {
      logger.warning("cannot read VMs: \(error)")
      return
    }
    await reportFencing(all)
    // Exports first: a copy this node served as secondary may be the one it must now run from.
    if !replications.isEmpty || !NBDExportDaemon.exports(in: exportRunDirectory).isEmpty {
      await reconcileReplicaExports(vms: all, replications: replications)
    }
    let vms = all.filter { $0.node == config.name }
    assignedVMs = vms
    runsReplicatedVMs = vms.contains { Replication.isReplicated($0) }
    // A VM being sent elsewhere belongs to the migration driver, whatever state QEMU is in.
    for vm in vms where !outgoing.contains(vm.name) { await reconcile(vm) }
    await reconcileMigrations(vms: all)
    let keep = Set(vms.map(\.name)).union(incomingVMs())
    for (name, runtime) in runtimes where !keep.contains(name) && !runtime.busy {
      if let process = runtime.process {
        logger.warning("VM \(name) is no longer assigned here; stopping its QEMU")
        await runtime.monitor?.close()
        await process.kill()
      }
      runtimes[name] = nil
    }
    await runTasks(for: vms)
    trackHAProcesses(vms)
  }

  /// Tells the fencing watchdog which VMs' QEMUs to kill if this node loses its lease: the HA
  /// VMs assigned here.
  func trackHAProcesses(_ vms: [VM]) {
    fencing.protect(
      Set(
        vms.filter { $0.ha?.enabled == true && $0.node == config.name }.map {
          $0.id.uuidString.lowercased()
        }))
  }

  func reconcile(_ vm: VM) async {
    var runtime = runtimes[vm.name] ?? VMRuntime(rebootsDone: vm.rebootRequests)
    guard !runtime.busy, runtime.incomingMigration == nil else { return }
    if runtime.process != nil { runtime = await checkExit(vm, runtime) }
    runtimes[vm.name] = runtime
    await converge(vm)
    await writeStatus(vm)
  }

  func writeStatus(_ vm: VM) async {
    guard var runtime = runtimes[vm.name] else { return }
    let status = runtime.status(node: config.name, accelerator: config.accelerator.accelerator)
    guard !status.sameState(as: runtime.lastWritten) else { return }
    do {
      let owner = VMOwner(node: config.name, epoch: runtime.epoch ?? vm.epoch)
      guard try await repository.putStatus(vm.name, status, owner: owner) else {
        logger.debug("\(vm.name) is no longer owned by \(config.name) at epoch \(owner.epoch)")
        return
      }
      runtime.lastWritten = status
      if var current = runtimes[vm.name] {
        current.lastWritten = status
        runtimes[vm.name] = current
      }
    } catch {
      logger.warning("cannot write status of \(vm.name): \(error)")
    }
  }

  /// Once the node has its lease back, says in the event log that it fenced while cut off.
  func reportFencing(_ vms: [VM]) async {
    guard let episode = fencing.takeEpisode() else { return }
    let names = vms.filter { episode.vmIDs.contains($0.id.uuidString.lowercased()) }.map(\.name)
    let seconds = episode.silence.seconds
    let message =
      "\(config.name) fenced itself at \(episode.at.formatted(.iso8601)): its lease went "
      + "unrenewed for \(String(format: "%.1f", seconds)) s; "
      + (names.isEmpty
        ? "no HA VM ran here" : "stopped HA VMs \(names.sorted().joined(separator: ", "))")
    logger.warning("\(message)")
    try? await repository.record(
      KazeEvent(level: .warning, kind: "node.fenced", node: config.name, message: message))
  }

  func event(_ vm: String, _ kind: String, _ message: String, level: KazeEvent.Level = .info) async
  {
    logger.log(
      level: level == .info ? .info : (level == .warning ? .warning : .error), "\(message)",
      metadata: ["vm": "\(vm)", "event": "\(kind)"])
    try? await repository.record(
      KazeEvent(level: level, kind: kind, vm: vm, node: config.name, message: message))
  }

  func launchContext(for vm: VM, diskPaths: [String], tapNames: [String?]) -> QEMULaunchContext {
    QEMULaunchContext(
      accelerator: config.accelerator.accelerator, runDirectory: config.runDirectory(for: vm),
      diskPaths: diskPaths, tapNames: tapNames,
      efiVarsPath: vm.spec.firmware == .uefi
        ? "\(config.pools.vmDirectory(for: vm))/efivars.fd" : nil)
  }

  /// Wakes the reconcile loop as soon as QEMU's monitor connection ends (QEMU exited).
  func watchExit(of vm: String, monitor: VMMonitor) {
    Task { [kick] in
      for await _ in monitor.closed {}
      kick.yield()
    }
  }

  /// Stops every QEMU this agent runs (used by tests and `kazed --stop-vms-on-exit`).
  public func stopAll() async {
    for (_, runtime) in runtimes {
      await runtime.monitor?.close()
      await runtime.process?.kill()
    }
  }
}
