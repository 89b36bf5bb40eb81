import ClusterStore
import Foundation
import Hypervisor
import KazeModel
import Storage

/// `kaze disk move`: a disk to another pool. While the VM runs, a write-blocking mirror copies
/// it to a new image on the target pool; once the two are identical (and stay so), the spec is
/// switched to the new pool, then QEMU's device, and the old file is deleted. Stopped: a copy.
/// Runs beside the reconcile loop; it updates its task itself.
extension NodeAgent {
  static func moveJob(_ disk: String) -> String { "move-\(disk)" }

  func startDiskMove(_ task: KazeTask, vm: VM) {
    Task {
      do {
        await finish(task, .success(try await moveDisk(task, vm: vm)))
      } catch {
        await finish(task, .failure(error))
      }
    }
  }

  private func moveDisk(_ task: KazeTask, vm: VM) async throws -> String {
    guard let diskName = task.parameters["disk"], let poolName = task.parameters["pool"],
      let disk = vm.spec.disks.first(where: { $0.name == diskName })
    else { throw KazeError(.invalidArgument, "a disk move needs an existing disk and a pool") }
    let pools = config.pools
    let from = try pools.pool(disk.pool)
    let to = try pools.pool(poolName)
    let oldPath = from.diskPath(vm: vm.name, disk: diskName)
    let newPath = to.diskPath(vm: vm.name, disk: diskName)
    let size = try await runBlocking { try QemuImg.info(path: oldPath).virtualSize }
    try await runBlocking {
      try FileManager.default.createDirectory(
        atPath: to.vmDirectory(vm.name), withIntermediateDirectories: true)
      if FileManager.default.fileExists(atPath: newPath) {
        try FileManager.default.removeItem(atPath: newPath)
      }
    }
    let started = ContinuousClock.now
    if let monitor = runtimes[vm.name]?.monitor, runtimes[vm.name]?.process != nil {
      try await runBlocking { try QemuImg.create(path: newPath, sizeBytes: size) }
      do {
        if disk.pool == Replication.poolName {
          try await stopReplicating(vm, disk: disk, monitor: monitor)
        }
        try await mirrorAndSwitch(
          vm: vm, disk: diskName, to: poolName, newPath: newPath, monitor: monitor, task: task)
        runtimes[vm.name]?.movingDisks.remove(diskName)
      } catch {
        // Replication (if the disk was on the replicated pool) starts again from a full copy.
        runtimes[vm.name]?.movingDisks.remove(diskName)
        try? FileManager.default.removeItem(atPath: newPath)
        throw error
      }
    } else {
      _ = try await runBlocking {
        try ProcessRunner.run("qemu-img", ["convert", "-O", "qcow2", oldPath, newPath])
      }
      try await switchSpec(vm.name, disk: diskName, to: poolName)
    }
    try await runBlocking { try FileManager.default.removeItem(atPath: oldPath) }
    let seconds = (ContinuousClock.now - started).seconds
    let message =
      "\(diskName) moved from \(disk.pool) to \(poolName) in \(String(format: "%.1f", seconds)) s"
    await event(vm.name, "disk.moved", message)
    return message
  }

  /// Before a replicated disk moves off the pool or grows while the VM runs: its secondary copy
  /// stops counting (marked degraded, so HA never fails over to it), and its replication jobs and
  /// bitmaps go (a disk takes one mirror at a time, and a mirrored node cannot grow). The
  /// replica monitor leaves the disk alone until the caller removes it from `movingDisks`.
  func stopReplicating(_ vm: VM, disk: DiskSpec, monitor: VMMonitor) async throws {
    runtimes[vm.name]?.movingDisks.insert(disk.name)
    try await markReplicas(of: vm, .degraded) { name, _ in name == disk.name }
    let path = try config.pools.diskPath(vm: vm.name, disk: disk)
    let node = try await monitor.formatNode(path: path) ?? disk.name
    // Twice: a replica monitor round under way when the move began may have set a job up again.
    for round in 0..<2 {
      if round > 0 { try await Task.sleep(for: Self.replicaProbeInterval * 2) }
      await abandonBitmapResync(node: node, disk: disk.name, target: nil, monitor: monitor)
      if let job = MirrorLink.job(of: disk.name, in: try await monitor.blockJobs()) {
        try await monitor.abandonMirror(job.id, targetNode: job.id)
      }
    }
    await dropBitmaps(node: node, monitor: monitor)
    mirrors["\(vm.name)/\(disk.name)"] = nil
  }

  private func mirrorAndSwitch(
    vm: VM, disk: String, to pool: String, newPath: String, monitor: VMMonitor, task: KazeTask
  ) async throws {
    let source = (try? await monitor.activeNode(device: "\(disk)-dev")) ?? disk
    let node = "\(disk)-\(pool)-\(UUID().uuidString.prefix(4).lowercased())"
    let job = Self.moveJob(disk)
    try await monitor.addQcow2Node(node, path: newPath)
    do {
      try await monitor.startMirror(job: job, device: source, target: node, writeBlocking: true)
      try await waitUntilMirrored(job, monitor: monitor, task: task)
    } catch {
      try? await monitor.abandonMirror(job, targetNode: node)
      throw error
    }
    // Both images are identical now, and every write reaches both: the spec may name either.
    // Switch the spec first, then the device, so that at no moment does the spec name an image
    // that misses writes.
    try await switchSpec(vm.name, disk: disk, to: pool)
    do {
      try await monitor.completeBlockJob(job)
      try await monitor.waitForBlockJobEnd(job, timeout: .seconds(10))
      guard try await monitor.activeNode(device: "\(disk)-dev") == node else {
        throw KazeError(.internalError, "QEMU did not switch \(disk) to the new image")
      }
    } catch {
      try? await switchSpec(vm.name, disk: disk, to: vm.spec.disks.first { $0.name == disk }?.pool)
      try? await monitor.abandonMirror(job, targetNode: node)
      throw error
    }
    // The old image is no longer used by the guest: close it.
    try? await monitor.removeNode(source)
    try? await monitor.removeNode("\(source)-file")
  }

  private func waitUntilMirrored(_ job: String, monitor: VMMonitor, task: KazeTask) async throws {
    var lastWrite = ContinuousClock.now
    while true {
      guard let info = try await monitor.blockJobs().first(where: { $0.id == job }) else {
        throw KazeError(.unavailable, "the copy to the new pool stopped (QEMU ended the job)")
      }
      if info.ready && info.offset == info.length { return }
      if ContinuousClock.now - lastWrite > .milliseconds(300) {
        lastWrite = .now
        let fraction = Double(info.offset) / Double(max(info.length, 1))
        _ = try? await repository.updateTask(task.id) {
          $0.progress = fraction
          $0.message = "\(Int(fraction * 100))% copied"
        }
      }
      try await Task.sleep(for: .milliseconds(50))
    }
  }

  private func switchSpec(_ vm: String, disk: String, to pool: String?) async throws {
    guard let pool else { return }
    try await repository.updateVM(vm) { vm in
      if let index = vm.spec.disks.firstIndex(where: { $0.name == disk }) {
        vm.spec.disks[index].pool = pool
        // The copy holds the whole disk: it no longer needs the base image.
        vm.spec.disks[index].backingPath = nil
      }
    }
  }
}
