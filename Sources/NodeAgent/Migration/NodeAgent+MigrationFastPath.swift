import ClusterStore
import Foundation
import Hypervisor
import KazeModel
import Storage

/// The fast path of a live migration to the node that holds a VM's in-sync secondary copies
/// (`Migration.reusedCopies`): nothing is copied. The source keeps mirroring every write to
/// those copies while the memory moves; the target's QEMU opens them inactive (`-S` and
/// late block activation, so it neither locks nor reads them while the secondary's export daemon
/// still writes them); once the source has handed the VM over, the target stops the export
/// daemons and resumes the guest, which takes the copies with everything the source wrote.
extension NodeAgent {
  /// On the source, before the memory moves and again once the guest has stopped for good:
  /// every reused copy must have every write (its mirror ready, caught up and not stopped on an
  /// error, to the target's export at the VM's epoch).
  func requireReplicaMirrorsInSync(
    _ disks: [String], of vm: VM, target: String, monitor: VMMonitor
  ) async throws {
    let replication = try await repository.replication(vm.name)
    let jobs = try await monitor.blockJobs()
    for disk in disks {
      let export = replication?.disks[disk]?.export
      guard replication?.secondary == target, replication?.epoch == vm.epoch, let export,
        let job = jobs.first(where: { $0.id == MirrorLink.jobID(export) }),
        job.ready, job.status == "ready", job.offset == job.length, job.error == nil
      else {
        throw KazeError(
          .unavailable,
          "the copy of \(disk) on \(target) is not in sync at this moment, so \(target) cannot "
            + "run from it; try again once `kaze storage status` shows it in sync")
      }
    }
  }

  /// On the source after the switch-over: ends the mirrors to the reused copies at once (the
  /// guest is stopped and every write reached them), so nothing waits on their exports closing.
  /// The guest waits meanwhile: no waiting for the jobs to go; this QEMU quits next.
  func endReplicaMirrors(_ disks: [String], monitor: VMMonitor) async {
    guard let jobs = try? await monitor.blockJobs() else { return }
    for disk in disks {
      guard let job = MirrorLink.job(of: disk, in: jobs) else { continue }
      try? await monitor.cancelBlockJob(job.id, force: true)
    }
  }

  /// On the target: follows its incoming QEMU and, as soon as it has the whole VM and the store
  /// says the VM is this node's, switches to the reused copies (the reconcile loop would be up
  /// to a round late).
  func awaitSwitchover(_ migration: Migration, vm name: String) async {
    // (prepareIncoming set `awaitsSwitchover`, so the reconcile loop leaves the switch to this.)
    defer { runtimes[name]?.awaitsSwitchover = false }
    let clock = ContinuousClock()
    var receivedAt: ContinuousClock.Instant?
    var lastRead = clock.now
    var failures = 0
    var completedAt: ContinuousClock.Instant?
    while let runtime = runtimes[name], runtime.incomingMigration == migration.id,
      let monitor = runtime.monitor
    {
      // A slow or failed answer (QEMU busy with the stream, a store hiccup) is tried again:
      // leaving it to the reconcile loop would add up to a second to the guest's pause. QEMU
      // gone for good ends the wait after about a second of failures.
      do {
        // QEMU says "inmigrate" until the stream ended, then "paused" (it was started with -S).
        let status = try await monitor.status()
        if receivedAt == nil && status != "inmigrate" { receivedAt = clock.now }
        if receivedAt != nil || completedAt != nil || clock.now - lastRead > .milliseconds(500) {
          lastRead = clock.now
          guard let record = try await repository.migration(name), record.id == migration.id,
            record.state != .failed
          else { return }
          // The source records "completed" when it has sent everything, which can be before
          // this QEMU has read it all (a busy node): switch once it has, so the measured
          // switch-over starts when the stream ended here. (A QEMU still "inmigrate" 5 s after
          // that is switched anyway: `cont` then makes it run as soon as the stream ends.)
          if record.state == .completed {
            completedAt = completedAt ?? clock.now
          }
          if let completed = completedAt,
            receivedAt != nil || clock.now - completed > .seconds(5),
            let vm = try await repository.vm(name), vm.node == config.name
          {
            await switchToReusedCopies(record, vm: vm, receivedAt: receivedAt)
            return
          }
        }
        failures = 0
      } catch {
        failures += 1
        if failures >= 50 {
          logger.warning("\(name): stopped waiting for the hand-over: \(error)")
          return
        }
      }
      try? await Task.sleep(for: .milliseconds(receivedAt == nil ? 20 : 5))
    }
  }

  /// On the target, once the VM is this node's: closes the secondary's exports of the reused
  /// copies and resumes the guest, which activates its disks on them. If that fails the QEMU
  /// goes and the reconcile loop starts the VM afresh from the same copies.
  func switchToReusedCopies(
    _ migration: Migration, vm: VM, receivedAt: ContinuousClock.Instant? = nil
  ) async {
    guard var runtime = runtimes[vm.name], runtime.incomingMigration == migration.id,
      !runtime.busy, let monitor = runtime.monitor, vm.node == config.name
    else { return }
    runtime.busy = true
    runtimes[vm.name] = runtime
    for disk in migration.reusedCopies ?? [] {
      let prefix = Replication.exportPrefix(vmID: vm.id, disk: disk)
      for export in NBDExportDaemon.exports(in: exportRunDirectory) where export.hasPrefix(prefix) {
        await NBDExportDaemon.find(
          export: export, host: exportHost, port: 0, runDirectory: exportRunDirectory)?.stop()
        NBDExportDaemon.removePidfile(export: export, runDirectory: exportRunDirectory)
      }
    }
    do {
      try await monitor.resume()
    } catch {
      await discardIncoming(vm)
      await event(
        vm.name, "vm.switch-failed",
        "the migrated guest could not take its copies on \(config.name) (\(error)); starting "
          + "it afresh from them", level: .warning)
      return
    }
    let waited = receivedAt.map { Int(((ContinuousClock.now - $0).seconds * 1000).rounded()) }
    adoptIncoming(vm)
    if let waited {
      _ = try? await repository.updateMigration(vm.name) { record in
        guard record.id == migration.id else { return }
        record.progress.switchoverMs = waited
      }
    }
    await event(
      vm.name, "vm.migrated-in",
      "now running on \(config.name) from its own copies after live migration"
        + (waited.map { " (switched over in \($0) ms)" } ?? ""))
  }
}
