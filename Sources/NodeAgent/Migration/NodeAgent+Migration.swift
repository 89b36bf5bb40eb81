import ClusterStore
import Foundation
import Hypervisor
import KazeModel

extension NodeAgent {
  /// Advances the live migrations this node takes part in: prepares incoming QEMUs on the
  /// target, starts (or resumes watching) the outgoing ones on the source, and cleans up
  /// after migrations that ended.
  func reconcileMigrations(vms: [VM]) async {
    guard let migrations = try? await repository.migrations() else { return }
    for migration in migrations {
      guard let vm = vms.first(where: { $0.name == migration.vm }) else { continue }
      if migration.target == config.name {
        await reconcileIncoming(migration, vm: vm)
      } else if migration.source == config.name && vm.node == config.name {
        await reconcileOutgoing(migration, vm: vm)
      }
    }
  }

  /// The VMs whose runtime must survive although they are not (yet) assigned here.
  func incomingVMs() -> Set<String> {
    Set(runtimes.filter { $0.value.incomingMigration != nil }.map(\.key))
  }

  // MARK: Target side

  private func reconcileIncoming(_ migration: Migration, vm: VM) async {
    let runtime = runtimes[vm.name]
    if migration.isActive && vm.node != migration.source {
      // Something else gave the VM a node meanwhile (HA restarted it after its source died):
      // this migration can never hand it over.
      await failMigration(
        migration, reason: "\(vm.name) was given to \(vm.node ?? "no node") while migrating")
      return
    }
    switch migration.state {
    case .pending where runtime == nil:
      await prepareIncoming(migration, vm: vm)
    case .completed where runtime?.incomingMigration == migration.id && vm.node == config.name:
      if migration.reusedCopies?.isEmpty == false {
        if runtime?.awaitsSwitchover == false { await switchToReusedCopies(migration, vm: vm) }
        return
      }
      // The VM is ours now: adopt the QEMU that received it.
      adoptIncoming(vm)
      if migration.storage?.isEmpty == false { try? await runtime?.monitor?.stopNBDServer() }
      await event(vm.name, "vm.migrated-in", "now running on \(config.name) after live migration")
    case .failed where runtime?.incomingMigration == migration.id:
      await discardIncoming(vm)
      if migration.storage?.isEmpty == false {
        let reused = Set(migration.reusedCopies ?? [])
        try? await runBlocking { try self.removeLocalDisks(of: vm, keeping: reused) }
      }
    default:
      break
    }
  }

  /// The VM is this node's now: the QEMU that received it becomes its runtime.
  func adoptIncoming(_ vm: VM) {
    guard var adopted = runtimes[vm.name] else { return }
    adopted.incomingMigration = nil
    adopted.busy = false
    adopted.epoch = vm.epoch
    adopted.phase = .running
    adopted.startedAt = Date()
    adopted.rebootsDone = vm.rebootRequests
    runtimes[vm.name] = adopted
  }

  private func prepareIncoming(_ migration: Migration, vm: VM) async {
    var runtime = VMRuntime(rebootsDone: vm.rebootRequests)
    runtime.busy = true
    runtime.phase = .starting
    runtime.incomingMigration = migration.id
    runtimes[vm.name] = runtime
    let reused = Set(migration.reusedCopies ?? [])
    do {
      // Disks on local pools arrive with the migration: whatever this node has at their paths
      // is a stale copy (the VM runs elsewhere), replaced by a new empty disk. Reused secondary
      // copies stay: they are the disks.
      try await runBlocking { try self.removeLocalDisks(of: vm, keeping: reused) }
      try requireReusedCopies(reused, of: vm)
      var context = try await prepare(vm, incoming: true)
      // The guest must find the very same CPU it runs on at the source.
      let sourceModel = try await repository.status(vm.name).cpuModel
      context.cpuModel = sourceModel
      runtime.cpuModel = vm.spec.cpuModel ?? sourceModel
      let advertised = config.address.split(separator: ":").dropLast().joined(separator: ":")
      let host = advertised.isEmpty ? "127.0.0.1" : advertised
      // Port 0: QEMU binds a free port itself and reports it, so nothing can take it between
      // choosing and listening.
      context.incoming = "tcp:\(host):0"
      // With reused copies QEMU must not take them before the hand-over.
      context.startPaused = !reused.isEmpty
      let arguments = try QEMUCommandLine.arguments(for: vm, context: context)
      let launchContext = context
      let process = try await runBlocking {
        try QEMUProcess.launch(vm: vm, arguments: arguments, context: launchContext)
      }
      runtime.process = process
      runtimes[vm.name] = runtime
      let monitor = try await VMMonitor.connect(
        socketPath: context.qmpSocketPath, timeout: .seconds(10), logger: logger)
      runtime.monitor = monitor
      runtime.busy = false
      runtimes[vm.name] = runtime
      watchExit(of: vm.name, monitor: monitor)
      if !reused.isEmpty { try await monitor.activateDisksOnResume() }
      let incoming = "tcp:\(host):\(try await monitor.incomingPort())"
      let storage = try await exportLocalDisks(
        of: vm, except: reused, monitor: monitor, host: host)
      try await repository.updateMigration(vm.name) { record in
        guard record.id == migration.id, record.state == .pending else {
          throw KazeError(.conflict, "migration \(migration.id) moved on")
        }
        record.state = .ready
        record.incoming = incoming
        record.storage = storage.isEmpty ? nil : storage
      }
      await event(
        vm.name, "migration.ready",
        "waiting on \(config.name) for the migration stream"
          + (reused.isEmpty ? "" : "; the disks are its in-sync copies here"))
      if !reused.isEmpty {
        runtimes[vm.name]?.awaitsSwitchover = true
        Task { await self.awaitSwitchover(migration, vm: vm.name) }
      }
    } catch {
      await discardIncoming(vm)
      try? await runBlocking { try self.removeLocalDisks(of: vm, keeping: reused) }
      await failMigration(migration, reason: "the target could not prepare: \(error)")
    }
  }

  /// The secondary copies a fast-path migration runs from must be here: never a blank disk.
  private func requireReusedCopies(_ reused: Set<String>, of vm: VM) throws {
    for disk in vm.spec.disks where reused.contains(disk.name) {
      let path = try config.pools.diskPath(vm: vm.name, disk: disk)
      guard FileManager.default.fileExists(atPath: path) else {
        throw KazeError(.notFound, "the secondary copy of \(disk.name) is not at \(path)")
      }
    }
  }

  func discardIncoming(_ vm: VM) async {
    guard let runtime = runtimes[vm.name] else { return }
    runtimes[vm.name] = nil
    await runtime.monitor?.close()
    await runtime.process?.kill()
    removeTaps(vm)
  }

  // MARK: Source side

  private func reconcileOutgoing(_ migration: Migration, vm: VM) async {
    guard migration.isActive, runtimes[vm.name]?.outgoingMigration == nil else { return }
    guard migration.state == .ready || migration.state == .migrating else { return }
    guard var runtime = runtimes[vm.name], let monitor = runtime.monitor, runtime.process != nil
    else {
      await failMigration(migration, reason: "\(vm.name) is not running on \(config.name)")
      return
    }
    runtime.outgoingMigration = migration.id
    runtime.keepsReplicaMirror = migration.reusedCopies?.isEmpty == false
    runtime.busy = true
    runtimes[vm.name] = runtime
    Task { await self.drive(migration, vm: vm, monitor: monitor) }
  }

  /// Sends the VM and hands it over. Runs beside the reconcile loop, which skips the VM (busy)
  /// meanwhile. After a kazed restart it picks up a migration QEMU is already running.
  private func drive(_ migration: Migration, vm: VM, monitor: VMMonitor) async {
    let clock = ContinuousClock()
    do {
      var stats = try await monitor.migrationStats()
      // `query-migrate` also reports how this QEMU itself arrived (a VM that was migrated in
      // says "completed"), so only an outgoing migration already under way counts as started.
      let sending = ["setup", "active", "pre-switchover", "device"].contains(stats.status)
      let storage = migration.storage ?? [:]
      let reused = migration.reusedCopies ?? []
      // (A restart during the disk copy finds the migration `migrating` and no stream yet.)
      let copyingDisks = migration.state == .migrating && !storage.isEmpty
      if (migration.state == .ready || copyingDisks) && !sending {
        guard let incoming = migration.incoming else {
          throw KazeError(.internalError, "the target gave no address")
        }
        try await requireReplicaMirrorsInSync(
          reused, of: vm, target: migration.target, monitor: monitor)
        if !storage.isEmpty {
          try await repository.updateMigration(vm.name) { $0.state = .migrating }
          try await copyDisks(storage, of: vm, migration: migration, monitor: monitor)
        }
        try await monitor.migrate(
          to: incoming, downtimeLimitMs: migration.downtimeLimitMs,
          bandwidthMiBps: migration.bandwidthMiBps)
        try await repository.updateMigration(vm.name) { $0.state = .migrating }
        await event(
          vm.name, "migration.started",
          "live migration to \(migration.target) started"
            + (storage.isEmpty ? "" : " (disks copied, now the memory)")
            + (reused.isEmpty ? "" : "; it will run from its in-sync copies there"))
      }
      let diskBytes = try await diskJobs(storage, monitor).reduce(Int64(0)) { $0 + $1.length }
      var lastWrite = clock.now
      while true {
        stats = try await monitor.migrationStats()
        if stats.isFinished { break }
        if clock.now - lastWrite > .milliseconds(300) {
          lastWrite = clock.now
          let record = try await repository.migration(vm.name)
          if record?.id != migration.id || record?.state == .failed {
            try? await monitor.cancelMigration()
            throw KazeError(.conflict, record?.error ?? "the migration was cancelled")
          }
          try await writeProgress(migration, vm: vm, stats: stats, diskBytes: diskBytes)
        }
        // With reused copies the guest waits on the target for the hand-over: notice sooner.
        try await Task.sleep(for: .milliseconds(reused.isEmpty ? 50 : 10))
      }
      guard stats.status == "completed" else {
        throw KazeError(
          .unavailable,
          "QEMU reports the migration \(stats.status): \(stats.error ?? "no reason given")")
      }
      // The source is paused for good and every write reached the target synchronously: the
      // copies are complete; stop mirroring without switching the source's disks.
      for job in try await diskJobs(storage, monitor) {
        try await monitor.cancelBlockJob(job.id)
      }
      if !reused.isEmpty {
        // The replication mirror is the migration's now: no more state writes or restarts.
        runtimes[vm.name]?.keepsReplicaMirror = false
        try await requireReplicaMirrorsInSync(
          reused, of: vm, target: migration.target, monitor: monitor)
        await endReplicaMirrors(reused, monitor: monitor)
      }
      try await handOver(migration, vm: vm, stats: stats)
      await finishSource(vm, monitor: monitor)
      let seconds = Double(stats.totalTimeMs ?? 0) / 1000
      await event(
        vm.name, "migration.completed",
        "live-migrated to \(migration.target) in \(String(format: "%.2f", seconds)) s "
          + "(downtime \(stats.downtimeMs ?? 0) ms)")
    } catch {
      if var runtime = runtimes[vm.name] {
        runtime.outgoingMigration = nil
        runtime.keepsReplicaMirror = false
        runtime.busy = false
        runtime.verifiedAt = nil
        runtimes[vm.name] = runtime
      }
      // The guest stays here; make sure it runs (QEMU resumes it after most failures, but one
      // that failed during the switch-over can leave it paused).
      for disk in (migration.storage ?? [:]).keys {
        try? await monitor.abandonMirror(
          Self.migrationJob(disk), targetNode: Self.migrationTargetNode(disk))
      }
      if vm.desired == .running, (try? await monitor.isRunning()) == false {
        try? await monitor.resume()
      }
      await failMigration(migration, reason: "\(error)")
    }
  }

  private func writeProgress(
    _ migration: Migration, vm: VM, stats: MigrationStats, diskBytes: Int64
  ) async throws {
    // One bar for both phases: the disks (all copied by now) and the memory.
    let total = max(stats.totalBytes + diskBytes, 1)
    let remaining = stats.remainingBytes
    let done = max(0, min(1, Double(total - remaining) / Double(total)))
    let rate = stats.mbps * 1_000_000 / 8
    let progress = MigrationProgress(
      percent: (done * 1000).rounded() / 10, transferredBytes: stats.transferredBytes + diskBytes,
      totalBytes: total, remainingBytes: remaining,
      etaSeconds: rate > 0 ? Double(remaining) / rate : nil, phase: "memory")
    try await repository.updateMigration(vm.name) { $0.progress = progress }
    _ = try? await repository.updateTask(migration.id) {
      $0.progress = progress.percent / 100
      $0.message = "\(Int(progress.percent))% sent"
    }
  }

  /// One transaction moves the VM to the target and closes the migration: either both or
  /// neither, so the VM is never owned by two nodes.
  private func handOver(_ migration: Migration, vm: VM, stats: MigrationStats) async throws {
    let store = repository.store
    for _ in 0..<20 {
      guard let vmRecord = try await store.get(StoreKeys.vm(vm.name)),
        let migrationRecord = try await store.get(StoreKeys.migration(vm.name))
      else { throw KazeError(.notFound, "\(vm.name) or its migration vanished") }
      var moved = try vmRecord.decodeJSON(VM.self)
      var closed = try migrationRecord.decodeJSON(Migration.self)
      guard closed.id == migration.id, moved.node == config.name else {
        throw KazeError(.conflict, "\(vm.name) changed owner during the migration")
      }
      moved.node = migration.target
      moved.epoch += 1
      closed.state = .completed
      closed.finishedAt = Date()
      closed.progress = MigrationProgress(
        percent: 100, transferredBytes: stats.transferredBytes, totalBytes: stats.totalBytes,
        remainingBytes: 0, etaSeconds: 0, downtimeMs: stats.downtimeMs,
        totalTimeMs: stats.totalTimeMs)
      let result = try await store.txn(
        if: [
          .modRevision(vmRecord.key, equals: vmRecord.modRevision),
          .modRevision(migrationRecord.key, equals: migrationRecord.modRevision),
        ],
        then: try repository.assignment(moved) + [try .putJSON(migrationRecord.key, closed)])
      if result.succeeded {
        _ = try? await repository.updateTask(migration.id) {
          $0.state = .succeeded
          $0.progress = 1
          $0.finishedAt = Date()
          $0.message = "running on \(migration.target); downtime \(stats.downtimeMs ?? 0) ms"
        }
        return
      }
    }
    throw KazeError(.conflict, "\(vm.name) kept changing; could not hand it over")
  }

  /// The source's QEMU has nothing left to run (it is paused after the switch-over): stop it,
  /// and delete this node's copies of disks that went with the VM — before the runtime goes,
  /// so this node cannot start serving a new secondary copy at the same paths meanwhile.
  private func finishSource(_ vm: VM, monitor: VMMonitor) async {
    guard var runtime = runtimes[vm.name] else { return }
    runtime.expectingExit = true
    runtimes[vm.name] = runtime
    try? await monitor.quit()
    await runtime.process?.kill()
    await monitor.close()
    try? await runBlocking { try self.removeLocalDisks(of: vm) }
    runtimes[vm.name] = nil
    removeTaps(vm)
  }

  func failMigration(_ migration: Migration, reason: String) async {
    _ = try? await repository.updateMigration(migration.vm) { record in
      guard record.id == migration.id, record.isActive else { return }
      record.state = .failed
      record.error = reason
      record.finishedAt = Date()
    }
    _ = try? await repository.updateTask(migration.id) {
      guard !$0.state.isFinished else { return }
      $0.state = .failed
      $0.message = reason
      $0.finishedAt = Date()
    }
    await event(
      migration.vm, "migration.failed", "live migration to \(migration.target) failed: \(reason)",
      level: .warning)
  }
}
