import ClusterStore
import Foundation
import Hypervisor
import KazeModel
import Storage

extension NodeAgent {
  /// How long a guest write waits for a lost secondary before it completes on the primary copy
  /// alone. The agent records `degraded` well before that (it probes every `replicaProbeInterval`),
  /// and a node that cannot reach the store fences its HA VMs sooner still, so a write the guest
  /// saw complete is never missing from a copy the store calls in sync.
  static let mirrorReconnectDelay = 5
  static let replicaProbeInterval: Duration = .milliseconds(500)

  /// Runs `reconcileReplicaMirrors` on its own short period, apart from the reconcile loop.
  func runReplicaMonitor() async {
    while !Task.isCancelled {
      if runsReplicatedVMs { await monitorReplicas() }
      try? await Task.sleep(for: Self.replicaProbeInterval)
    }
  }

  private func monitorReplicas() async {
    do {
      let vms = try await repository.vms().filter {
        $0.node == config.name && Replication.isReplicated($0)
      }
      if !vms.isEmpty {
        await reconcileReplicaMirrors(vms: vms, replications: try await repository.replications())
      }
    } catch {
      logger.debug("replica monitor: \(error)")
    }
  }

  /// The primary's side of replication: keeps a write-blocking mirror from each replicated disk
  /// of the VMs running here to the secondary's export, and writes each disk's state.
  func reconcileReplicaMirrors(vms: [VM], replications: [String: Replication]) async {
    for vm in vms {
      guard let replication = replications[vm.name], replication.primary == config.name,
        let runtime = runtimes[vm.name], let monitor = runtime.monitor,
        let pid = runtime.process?.pid, runtime.epoch == replication.epoch,
        runtime.incomingMigration == nil,
        runtime.outgoingMigration == nil || runtime.keepsReplicaMirror,
        runtime.phase == .running || runtime.phase == .paused
      else { continue }
      guard let jobs = try? await monitor.blockJobs() else { continue }
      var states: [String: DiskReplica] = [:]
      // (A disk being moved to another pool is the move's; it was marked degraded first.)
      for disk in Replication.disks(of: vm) where !runtime.movingDisks.contains(disk.name) {
        let current =
          replication.disks[disk.name]
          ?? DiskReplica(state: .degraded, totalBytes: disk.sizeBytes)
        states[disk.name] = await mirror(
          vm: vm, disk: disk, current: current, replication: replication, monitor: monitor,
          pid: pid, job: MirrorLink.job(of: disk.name, in: jobs),
          resync: MirrorLink.resyncJob(of: disk.name, in: jobs))
      }
      await publish(states, of: vm, replication: replication)
    }
  }

  private func mirror(
    vm: VM, disk: DiskSpec, current: DiskReplica, replication: Replication, monitor: VMMonitor,
    pid: Int32, job found: BlockJobInfo?, resync foundResync: BlockJobInfo?
  ) async -> DiskReplica {
    let key = "\(vm.name)/\(disk.name)"
    // The disk's qcow2 node: its own, or the one a live move onto this pool switched it to.
    let path = (try? config.pools.diskPath(vm: vm.name, disk: disk)) ?? ""
    let node = (try? await monitor.formatNode(path: path)) ?? disk.name
    var link = mirrors[key].flatMap { $0.qemuPid == pid ? $0 : nil }
    var job = found
    var resync = foundResync
    let target = replication.secondary == nil ? nil : current.export
    var next = current
    // The secondary moved, or serves a new copy: these jobs write to the wrong place.
    let copyChanged = link.map { $0.export.copy != target?.copy } ?? false
    if let running = job, target.map(MirrorLink.jobID) != running.id || copyChanged {
      try? await monitor.abandonMirror(running.id, targetNode: running.id)
      link = nil
      job = nil
    }
    if let pass = resync, target.map(MirrorLink.resyncID) != pass.id || copyChanged {
      await abandonBitmapResync(node: node, disk: disk.name, target: nil, monitor: monitor)
      link = nil
      resync = nil
    }
    guard let target else {
      mirrors[key] = nil
      return changed(next, to: .degraded)
    }
    let reachable =
      (try? await runBlocking { TCPProbe.accepts(host: target.host, port: target.port) }) ?? false
    if job == nil, let pass = resync {
      var kept = link ?? MirrorLink(export: target, qemuPid: pid)
      if kept.resync == nil { kept.resync = (0, .now) }
      switch await advanceBitmapResync(
        vm: vm, node: node, disk: disk.name, target: target, backup: pass, monitor: monitor,
        copiedBefore: kept.bitmapBytes)
      {
      case .copying(let done, let total):
        kept.bitmapBytes = pass.status == "concluded" ? done : kept.bitmapBytes
        mirrors[key] = kept
        next.syncedBytes = done
        next.totalBytes = total
        return changed(next, to: .resyncing)
      case .finished(let bytes):
        // The mirror runs from here; the next round finds it ready and in sync.
        kept.bitmapBytes = bytes
        mirrors[key] = kept
        next.syncedBytes = bytes
        return changed(next, to: .resyncing)
      case .failed(let reason):
        logger.warning("the bitmap resync of \(key) stopped: \(reason); it starts over")
        mirrors[key] = nil
        return changed(next, to: .degraded)
      }
    }
    guard let job else {
      mirrors[key] = nil
      guard reachable else { return changed(next, to: .degraded) }
      // A new QEMU: copy only what its bitmaps say the secondary's copy lacks, if they can.
      do {
        if let total = try await startBitmapResync(
          node: node, disk: disk.name, target: target, monitor: monitor)
        {
          var kept = MirrorLink(export: target, qemuPid: pid)
          kept.resync = (0, .now)
          mirrors[key] = kept
          next.syncedBytes = 0
          next.totalBytes = total
          return changed(next, to: .resyncing)
        }
      } catch {
        logger.warning("cannot resync \(key) from its dirty bitmaps: \(error); copying it whole")
        await abandonBitmapResync(node: node, disk: disk.name, target: target, monitor: monitor)
      }
      await dropBitmaps(node: node, monitor: monitor)
      next.tracked = nil
      do {
        try? await monitor.removeNode(MirrorLink.nodeName(target))
        try await monitor.addNBDNode(
          MirrorLink.nodeName(target), host: target.host, port: target.port,
          export: target.name, reconnectDelay: Self.mirrorReconnectDelay)
        try await monitor.startMirror(
          job: MirrorLink.jobID(target), device: node,
          target: MirrorLink.nodeName(target), writeBlocking: true, onTargetError: "stop")
        mirrors[key] = MirrorLink(export: target, qemuPid: pid)
        next.syncedBytes = 0
        return changed(next, to: .syncing)
      } catch {
        logger.warning("cannot mirror \(key) to \(target.host):\(target.port): \(error)")
        return changed(next, to: .degraded)
      }
    }
    var kept = link ?? MirrorLink(export: target, qemuPid: pid)
    defer { mirrors[key] = kept }
    next.syncedBytes = job.offset
    next.totalBytes = max(job.length, disk.sizeBytes)
    if !reachable { return changed(next, to: .degraded) }
    if job.status == "paused" || job.status == "standby" {
      // Stopped on a target error, and the secondary answers again: copy what it missed.
      do {
        try await monitor.resumeBlockJob(job.id)
      } catch {
        return changed(next, to: .degraded)
      }
      // The copy counts from the resume that sticks (QEMU's NBD client may need a few seconds
      // to reconnect first): bytes are what the job's offset advances by from here.
      kept.resync = (kept.resync?.fromOffset ?? job.offset, .now)
      return changed(next, to: current.state == .syncing ? .syncing : .resyncing)
    }
    if current.state == .inSync && job.ready && kept.resync == nil {
      await rotateIfDue(&next, link: &kept, node: node, job: job, monitor: monitor)
      return next
    }
    if job.ready && job.offset == job.length {
      if let resync = kept.resync {
        next.lastResync = ResyncFigures(
          bytes: job.offset - resync.fromOffset + kept.bitmapBytes,
          seconds: (ContinuousClock.now - resync.started).seconds)
        kept.resync = nil
        kept.bitmapBytes = 0
      }
      return changed(next, to: .inSync)
    }
    let copying: ReplicaState =
      current.state == .degraded || current.state == .resyncing || kept.resync != nil
      ? .resyncing : .syncing
    return changed(next, to: copying)
  }

  /// While in sync, every `bitmapRotation`: rotates the disk's tracking bitmaps (see
  /// `NodeAgent+BitmapResync`) and records since when they track the copy.
  private func rotateIfDue(
    _ next: inout DiskReplica, link: inout MirrorLink, node: String, job: BlockJobInfo,
    monitor: VMMonitor
  ) async {
    guard let copy = link.export.copy, job.status == "ready", job.offset == job.length,
      ContinuousClock.now - link.lastRotation >= Self.bitmapRotation
    else { return }
    link.lastRotation = .now
    do {
      let tracked = try await rotateBitmaps(node: node, copy: copy, monitor: monitor)
      next.tracked = tracked ? (next.tracked ?? Date()) : nil
    } catch {
      logger.warning("cannot rotate the dirty bitmaps of \(node): \(error)")
    }
  }

  private func changed(_ replica: DiskReplica, to state: ReplicaState) -> DiskReplica {
    var next = replica
    if next.state != state {
      next.state = state
      next.since = Date()
    }
    return next
  }

  /// Writes the disks' states while this node still owns the VM's epoch; events on changes.
  private func publish(
    _ states: [String: DiskReplica], of vm: VM, replication: Replication
  )
    async
  {
    let worthWriting = states.contains { name, state in
      guard let old = replication.disks[name] else { return true }
      return old.state != state.state || old.lastResync != state.lastResync
        || old.tracked != state.tracked
        || abs(old.syncedBytes - state.syncedBytes) > max(state.totalBytes / 20, 1 << 20)
    }
    guard worthWriting || !replication.seeded else { return }
    let owner = VMOwner(node: config.name, epoch: replication.epoch)
    do {
      guard
        try await repository.updateReplication(
          vm.name, owner: owner,
          { record in
            record.seeded = true
            for (name, state) in states {
              // The export is the secondary's to write; keep whatever it published meanwhile.
              var merged = state
              merged.export = record.disks[name]?.export
              record.disks[name] = merged
            }
          }) != nil
      else { return }
    } catch {
      logger.warning("cannot record the replication state of \(vm.name): \(error)")
      return
    }
    for (name, state) in states.sorted(by: { $0.key < $1.key })
    where replication.disks[name]?.state != state.state {
      await replicaEvent(vm: vm.name, disk: name, state: state, secondary: replication.secondary)
    }
  }

  private func replicaEvent(
    vm: String, disk: String, state: DiskReplica, secondary: String?
  )
    async
  {
    let there = secondary.map { "on \($0)" } ?? "(no secondary node)"
    switch state.state {
    case .syncing:
      await event(vm, "disk.syncing", "\(disk): copying the whole disk to its secondary \(there)")
    case .inSync:
      let resync = state.lastResync.map {
        " (resync copied \($0.bytes.humanBytes) in \(String(format: "%.1f", $0.seconds)) s)"
      }
      await event(
        vm, "disk.in-sync", "\(disk) is in sync with its secondary \(there)\(resync ?? "")")
    case .degraded:
      let why =
        secondary == nil
        ? "no secondary node"
        : state.export == nil
          ? "secondary \(there) is not serving its copy yet" : "secondary \(there) unreachable"
      await event(
        vm, "disk.degraded", "\(disk): \(why); running on \(config.name)'s copy alone",
        level: .warning)
    case .resyncing:
      await event(
        vm, "disk.resyncing", "\(disk): secondary \(there) is back; copying what it missed")
    }
  }
}
