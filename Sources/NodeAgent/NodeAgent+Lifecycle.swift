import ClusterStore
import Foundation
import Hypervisor
import KazeModel
import Networking
import Storage

extension NodeAgent {
  /// Notices a QEMU that is gone and decides what its exit was: a stop the agent asked for, the
  /// guest powering off, or a crash (which schedules a restart with backoff).
  func checkExit(_ vm: VM, _ current: VMRuntime) async -> VMRuntime {
    var runtime = current
    guard let process = runtime.process, !process.isAlive else { return runtime }
    let cause = await runtime.monitor?.shutdownCause
    await runtime.monitor?.close()
    let ranLong = runtime.startedAt.map { Date().timeIntervalSince($0) > 60 } ?? false
    runtime.process = nil
    runtime.monitor = nil
    runtime.startedAt = nil
    removeTaps(vm)
    if runtime.expectingExit || runtime.phase == .stopping {
      runtime.phase = .stopped
      runtime.expectingExit = false
      runtime.stoppingSince = nil
      await event(vm.name, "vm.stopped", "stopped")
    } else if cause == .guest {
      runtime.phase = .stopped
      await event(vm.name, "vm.guest-poweroff", "the guest powered itself off")
      if vm.desired != .stopped {
        _ = try? await repository.updateVM(vm.name) { $0.desired = .stopped }
      }
    } else {
      runtime.crashRestarts += 1
      let backoff = nextBackoff(runtime.backoff)
      runtime.backoff = backoff
      runtime.restartNotBefore = ContinuousClock.now + backoff
      runtime.phase = .crashed
      let how =
        if case .host(let reason) = cause { "was stopped from the host (\(reason))" } else {
          "exited unexpectedly"
        }
      runtime.lastError = "QEMU (pid \(process.pid)) \(how)"
      runtime.consecutiveCrashes = ranLong ? 1 : runtime.consecutiveCrashes + 1
      if let ha = vm.ha, ha.enabled, runtime.consecutiveCrashes > ha.maxRestarts {
        // A crash loop on this node: leave the VM down here and let HA move it elsewhere.
        runtime.phase = .failed
        runtime.needsRelocation = true
        runtime.restartNotBefore = ContinuousClock.now + .seconds(3600)
        await event(
          vm.name, "vm.crash-loop",
          "QEMU crashed \(runtime.consecutiveCrashes) times in a row on \(config.name); "
            + "HA will restart it on another node",
          level: .error)
      } else {
        await event(
          vm.name, "vm.crashed",
          "QEMU (pid \(process.pid)) \(how); restarting in \(seconds(backoff))",
          level: .warning)
      }
    }
    return runtime
  }

  /// One step towards the desired power state; never waits for the guest.
  func converge(_ vm: VM) async {
    guard var runtime = runtimes[vm.name] else { return }
    switch vm.desired {
    case .running, .paused:
      if runtime.process == nil {
        if let notBefore = runtime.restartNotBefore, ContinuousClock.now < notBefore { return }
        await start(vm)
        return
      }
      guard let monitor = runtime.monitor else {
        await reattach(vm)
        return
      }
      // Nothing to change: ask QEMU again only every few seconds (keeps an idle node idle).
      let settled =
        runtime.phase == (vm.desired == .running ? .running : .paused)
        && vm.rebootRequests <= runtime.rebootsDone
      if settled, let verified = runtime.verifiedAt, ContinuousClock.now - verified < .seconds(5) {
        return
      }
      do {
        let state = try await monitor.status()
        // Never resume a QEMU that took part in a migration: its guest may run elsewhere.
        if ["postmigrate", "inmigrate", "finish-migrate"].contains(state) { return }
        let running = state == "running"
        runtime.verifiedAt = .now
        if vm.desired == .running && !running {
          try await monitor.resume()
          await event(vm.name, "vm.resumed", "resumed")
        } else if vm.desired == .paused && running {
          try await monitor.pause()
          await event(vm.name, "vm.paused", "paused")
        }
        runtime.phase = vm.desired == .running ? .running : .paused
        if vm.rebootRequests > runtime.rebootsDone {
          try await monitor.reset()
          runtime.rebootsDone = vm.rebootRequests
          await event(vm.name, "vm.rebooted", "rebooted")
        }
        if runtime.phase == .running { runtime.backoff = nil }
      } catch {
        runtime.lastError = "\(error)"
      }
      runtimes[vm.name] = runtime
    case .stopped:
      runtime.restartNotBefore = nil
      runtime.backoff = nil
      guard let process = runtime.process else {
        if runtime.phase != .stopped {
          runtime.phase = .stopped
          runtimes[vm.name] = runtime
        }
        return
      }
      if vm.stopMode == .hard {
        runtime.expectingExit = true
        runtimes[vm.name] = runtime
        await stopAtOnce(process, monitor: runtime.monitor)
        runtimes[vm.name] = await checkExit(vm, runtimes[vm.name] ?? runtime)
        return
      }
      if let since = runtime.stoppingSince {
        if ContinuousClock.now - since > config.shutdownTimeout {
          runtime.expectingExit = true
          runtimes[vm.name] = runtime
          await event(
            vm.name, "vm.shutdown-timeout",
            "the guest did not power off within \(seconds(config.shutdownTimeout)); stopping it hard",
            level: .warning)
          await stopAtOnce(process, monitor: runtime.monitor)
          runtimes[vm.name] = await checkExit(vm, runtimes[vm.name] ?? runtime)
        }
        return
      }
      do {
        try await runtime.monitor?.powerdown()
        runtime.stoppingSince = .now
        runtime.phase = .stopping
        await event(vm.name, "vm.shutdown", "ACPI shutdown requested")
      } catch {
        runtime.expectingExit = true
        runtimes[vm.name] = runtime
        await process.kill()
        runtimes[vm.name] = await checkExit(vm, runtimes[vm.name] ?? runtime)
        return
      }
      runtimes[vm.name] = runtime
    }
  }

  /// Connects to the monitor of a QEMU that runs but that the agent is not attached to.
  func reattach(_ vm: VM) async {
    guard var runtime = runtimes[vm.name], runtime.process != nil, runtime.monitor == nil else {
      return
    }
    let context = launchContext(for: vm, diskPaths: [], tapNames: [])
    guard
      let monitor = try? await VMMonitor.connect(
        socketPath: context.qmpSocketPath, timeout: .seconds(2), logger: logger)
    else { return }
    runtime.monitor = monitor
    watchExit(of: vm.name, monitor: monitor)
    runtimes[vm.name] = runtime
    await event(vm.name, "vm.reattached", "agent reattached to the running QEMU")
  }

  /// Prepares disks, taps and firmware, launches a detached QEMU and attaches to its monitor.
  func start(_ vm: VM) async {
    guard var runtime = runtimes[vm.name] else { return }
    // Only the owner named by the VM's current epoch may start it (read fresh, not from the
    // list this round began with), and never while this node is fenced.
    guard !fencing.isFenced,
      let owner = try? await repository.owner(vm.name),
      owner.node == config.name, owner.epoch == vm.epoch
    else { return }
    runtime.epoch = owner.epoch
    runtime.busy = true
    runtime.phase = .starting
    runtimes[vm.name] = runtime
    await writeStatus(vm)
    let wasCrashed = runtime.crashRestarts > 0 && runtime.backoff != nil
    do {
      var context = try await prepare(vm)
      let baseline = try? await repository.clusterConfig().cpuBaseline
      context.cpuModel = baseline
      let arguments = try QEMUCommandLine.arguments(for: vm, context: context)
      runtime.cpuModel =
        vm.spec.cpuModel ?? baseline ?? QEMUCommandLine.defaultCPUModel(for: context.accelerator)
      let launchContext = context
      if vm.ha?.enabled == true { fencing.protect(adding: vm.id.uuidString.lowercased()) }
      let process = try await runBlocking {
        try QEMUProcess.launch(vm: vm, arguments: arguments, context: launchContext)
      }
      let monitor: VMMonitor
      do {
        monitor = try await VMMonitor.connect(
          socketPath: launchContext.qmpSocketPath, timeout: .seconds(10), logger: logger)
      } catch {
        await process.kill()
        throw error
      }
      runtime.process = process
      runtime.monitor = monitor
      runtime.startedAt = Date()
      runtime.lastError = nil
      runtime.expectingExit = false
      runtime.stoppingSince = nil
      runtime.restartNotBefore = nil
      runtime.rebootsDone = vm.rebootRequests
      runtime.phase = try await monitor.isRunning() ? .running : .paused
      watchExit(of: vm.name, monitor: monitor)
      await event(
        vm.name, wasCrashed ? "vm.restarted" : "vm.started",
        "\(wasCrashed ? "restarted after a crash" : "started") on \(config.name) "
          + "(pid \(process.pid), \(config.accelerator.accelerator.rawValue))")
      if let recovery = vm.recovery {
        let seconds = Date().timeIntervalSince(recovery.detectedAt)
        await event(
          vm.name, "vm.recovered",
          "recovered on \(config.name) \(String(format: "%.1f", seconds)) s after \(recovery.from) was found dead"
        )
        _ = try? await repository.updateVM(vm.name) { $0.recovery = nil }
      }
    } catch {
      let backoff = nextBackoff(runtime.backoff)
      runtime.backoff = backoff
      runtime.restartNotBefore = ContinuousClock.now + backoff
      runtime.phase = .failed
      runtime.lastError = "\(error)"
      await event(
        vm.name, "vm.start-failed", "start failed: \(error); retrying in \(seconds(backoff))",
        level: .error)
    }
    runtime.busy = false
    runtimes[vm.name] = runtime
  }

  /// `incoming`: for a live migration's target, whose disks on node-local pools arrive with it.
  func prepare(_ vm: VM, incoming: Bool = false) async throws -> QEMULaunchContext {
    let pools = config.pools
    if !incoming {
      try await requireReplicaCopies(of: vm)
      try await markCopiesBehind(vm)
    }
    let diskPaths = try await runBlocking { try pools.ensureDisks(of: vm) }
    var taps: [String?] = []
    for (index, nic) in vm.spec.nics.enumerated() {
      guard case .bridge(let bridge) = nic.kind else {
        taps.append(nil)
        continue
      }
      let tap = TapDevice(name: MACAddress.tapName(vmID: vm.id, index: index), bridge: bridge)
      try await runBlocking { try tap.create() }
      taps.append(tap.name)
    }
    let context = launchContext(for: vm, diskPaths: diskPaths, tapNames: taps)
    if let vars = context.efiVarsPath, !FileManager.default.fileExists(atPath: vars) {
      let template = "/usr/share/OVMF/OVMF_VARS_4M.fd"
      guard FileManager.default.fileExists(atPath: template) else {
        throw KazeError(.unavailable, "UEFI firmware is not installed (apt-get install ovmf)")
      }
      try FileManager.default.createDirectory(
        atPath: pools.vmDirectory(for: vm), withIntermediateDirectories: true)
      try FileManager.default.copyItem(atPath: template, toPath: vars)
    }
    return context
  }

  /// Once a VM's replicated disks hold data, a missing copy here is an error: creating a blank
  /// disk would start the VM from nothing.
  func requireReplicaCopies(of vm: VM) async throws {
    guard Replication.isReplicated(vm), let replication = try await repository.replication(vm.name),
      replication.seeded
    else { return }
    for disk in Replication.disks(of: vm) {
      let path = try config.pools.diskPath(vm: vm.name, disk: disk)
      if !FileManager.default.fileExists(atPath: path) {
        throw KazeError(
          .notFound,
          "the copy of \(disk.name) is not on \(config.name) (\(path)); it will not start from a blank disk"
        )
      }
    }
  }

  /// Before a new QEMU of a VM with replicated disks runs: the secondary copies stop counting as
  /// in sync, since the guest may write before the mirror is set up again (the replica monitor
  /// says `in-sync` again once it is). Without this, a node lost in that moment would fail over
  /// to a copy missing writes the guest saw done.
  func markCopiesBehind(_ vm: VM) async throws {
    guard Replication.isReplicated(vm), let replication = try await repository.replication(vm.name),
      replication.disks.values.contains(where: { $0.state == .inSync })
    else { return }
    try await markReplicas(of: vm, .resyncing) { _, disk in disk.state == .inSync }
  }

  /// Sets the state of the VM's replicated disks that `chosen` picks, while this node owns the
  /// VM's epoch (the primary's write, like the replica monitor's).
  func markReplicas(
    of vm: VM, _ state: ReplicaState,
    where chosen: @escaping @Sendable (String, DiskReplica) -> Bool
  ) async throws {
    let owner = VMOwner(node: config.name, epoch: vm.epoch)
    _ = try await repository.updateReplication(vm.name, owner: owner) { record in
      for (name, disk) in record.disks where chosen(name, disk) {
        record.disks[name]?.state = state
        record.disks[name]?.since = Date()
      }
    }
  }

  /// A hard stop: for the guest a power cut, but QEMU closes its images itself (`quit`: caches
  /// flushed, persistent dirty bitmaps stored, so a replicated disk resyncs only what changed);
  /// SIGKILL if QEMU does not go within seconds.
  func stopAtOnce(_ process: QEMUProcess, monitor: VMMonitor?) async {
    if let monitor, (try? await monitor.quit()) != nil,
      await process.waitForExit(timeout: .seconds(5))
    {
      return
    }
    await process.kill()
  }

  func removeTaps(_ vm: VM) {
    for (index, nic) in vm.spec.nics.enumerated() {
      if case .bridge(let bridge) = nic.kind {
        try? TapDevice(name: MACAddress.tapName(vmID: vm.id, index: index), bridge: bridge).delete()
      }
    }
  }

  func nextBackoff(_ previous: Duration?) -> Duration {
    guard let previous else { return config.restartBackoff.first }
    return min(previous * 2, config.restartBackoff.max)
  }

  func seconds(_ duration: Duration) -> String {
    String(format: "%.0f s", duration.seconds)
  }
}
