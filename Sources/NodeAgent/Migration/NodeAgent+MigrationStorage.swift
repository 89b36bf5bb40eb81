import ClusterStore
import Foundation
import Hypervisor
import KazeModel
import Storage

/// Shared-nothing live migration: disks on local pools travel with the VM. The target's incoming
/// QEMU serves its new, empty copies over NBD (QEMU's own server); the source mirrors each disk
/// to them write-blocking, and once every copy is in sync it sends the memory — writes made
/// meanwhile reach both sides before the guest sees them complete — then stops mirroring when
/// the target has taken over.
extension NodeAgent {
  static func migrationJob(_ disk: String) -> String { "migrate-\(disk)" }
  static func migrationExport(_ disk: String) -> String { "migrate-\(disk)" }
  /// The source's block node for the target's export of `disk`.
  static func migrationTargetNode(_ disk: String) -> String { "migrate-\(disk)-target" }

  /// The VM's disks that live on this node's own disk (pools of kind `dir` and `replicated`):
  /// they travel with a live migration.
  func localDisks(of vm: VM) -> [DiskSpec] {
    vm.spec.disks.filter { Self.travels(try? config.pools.pool($0.pool)) }
  }

  nonisolated static func travels(_ pool: DirectoryPool?) -> Bool {
    pool?.kind == "dir" || pool?.kind == "replicated"
  }

  /// Removes this node's copies of the VM's node-local disks (a stale or half-received copy on
  /// a target, or the source's copy once the VM has moved), with any secondary-copy marker.
  nonisolated func removeLocalDisks(of vm: VM, keeping kept: Set<String> = []) throws {
    for disk in vm.spec.disks where !kept.contains(disk.name) {
      guard let pool = try? config.pools.pool(disk.pool), Self.travels(pool) else { continue }
      let path = pool.diskPath(vm: vm.name, disk: disk.name)
      for file in [path, Self.copyMarker(of: path)]
      where FileManager.default.fileExists(atPath: file) {
        try FileManager.default.removeItem(atPath: file)
      }
      // The VM's folder goes too once it is empty.
      let folder = pool.vmDirectory(vm.name)
      if (try? FileManager.default.contentsOfDirectory(atPath: folder))?.isEmpty == true {
        try? FileManager.default.removeItem(atPath: folder)
      }
    }
  }

  /// On the target: serves the incoming QEMU's local disks over NBD; their exports by disk.
  func exportLocalDisks(
    of vm: VM, except reused: Set<String>, monitor: VMMonitor, host: String
  ) async throws -> [String:
    NBDExport]
  {
    let disks = localDisks(of: vm).filter { !reused.contains($0.name) }
    guard !disks.isEmpty else { return [:] }
    guard let port = TCPProbe.freePort(host: host) else {
      throw KazeError(.unavailable, "no free port on \(host) for the disks' NBD server")
    }
    try await monitor.startNBDServer(host: host, port: port)
    var exports: [String: NBDExport] = [:]
    for disk in disks {
      let name = Self.migrationExport(disk.name)
      try await monitor.exportBlockNode(disk.name, as: name)
      exports[disk.name] = NBDExport(host: host, port: port, name: name)
    }
    return exports
  }

  /// On the source: the mirror jobs of a migration's disks.
  func diskJobs(
    _ storage: [String: NBDExport], _ monitor: VMMonitor
  ) async throws
    -> [BlockJobInfo]
  {
    guard !storage.isEmpty else { return [] }
    let ids = Set(storage.keys.map(Self.migrationJob))
    return try await monitor.blockJobs().filter { ids.contains($0.id) }
  }

  /// On the source: mirrors every local disk to the target's export and waits until all are in
  /// sync (write-blocking from then on), writing progress for the disk phase.
  func copyDisks(
    _ storage: [String: NBDExport], of vm: VM, migration: Migration, monitor: VMMonitor
  ) async throws {
    // A replicated disk's own mirror (to its secondary, paused for the migration) goes first:
    // a disk takes one mirror at a time.
    let jobs = try await monitor.blockJobs()
    for disk in storage.keys {
      if MirrorLink.resyncJob(of: disk, in: jobs) != nil {
        await abandonBitmapResync(node: disk, disk: disk, target: nil, monitor: monitor)
      }
      guard let job = MirrorLink.job(of: disk, in: jobs) else { continue }
      // (Its job and target node share the export's name: see MirrorLink.)
      try await monitor.abandonMirror(job.id, targetNode: job.id)
    }
    let running = Set(try await diskJobs(storage, monitor).map(\.id))
    for (disk, export) in storage.sorted(by: { $0.key < $1.key })
    where !running.contains(Self.migrationJob(disk)) {
      let node = Self.migrationTargetNode(disk)
      try? await monitor.removeNode(node)
      try await monitor.addNBDNode(node, host: export.host, port: export.port, export: export.name)
      // The disk's node, or the one a live disk move switched it to.
      let source = (try? await monitor.activeNode(device: "\(disk)-dev")) ?? disk
      try await monitor.startMirror(
        job: Self.migrationJob(disk), device: source, target: node, writeBlocking: true)
    }
    await event(
      vm.name, "migration.disks",
      "copying \(storage.count) local disk(s) to \(migration.target) before the memory")
    let memory = Int64(vm.spec.memoryMiB) << 20
    let clock = ContinuousClock()
    let started = clock.now
    var lastWrite = clock.now
    while true {
      let jobs = try await diskJobs(storage, monitor)
      guard jobs.count == storage.count else {
        throw KazeError(.unavailable, "copying the disks to \(migration.target) failed")
      }
      if jobs.allSatisfy({ $0.ready && $0.offset == $0.length }) {
        let seconds = (clock.now - started).seconds
        let bytes = jobs.reduce(Int64(0)) { $0 + $1.length }
        await event(
          vm.name, "migration.disks-copied",
          "local disks (\(bytes.humanBytes)) copied to \(migration.target) in "
            + String(format: "%.2f s", seconds) + "; every write now reaches both")
        return
      }
      if let failed = jobs.first(where: { $0.error != nil }) {
        throw KazeError(
          .unavailable, "copying \(failed.id) to \(migration.target) failed: \(failed.error ?? "")")
      }
      if clock.now - lastWrite > .milliseconds(300) {
        lastWrite = clock.now
        let record = try await repository.migration(vm.name)
        if record?.id != migration.id || record?.state == .failed {
          throw KazeError(.conflict, record?.error ?? "the migration was cancelled")
        }
        let done = jobs.reduce(Int64(0)) { $0 + $1.offset }
        let total = jobs.reduce(Int64(0)) { $0 + $1.length } + memory
        let progress = MigrationProgress(
          percent: (Double(done) / Double(max(total, 1)) * 1000).rounded() / 10,
          transferredBytes: done, totalBytes: total, remainingBytes: total - done, phase: "disks")
        try await repository.updateMigration(vm.name) { $0.progress = progress }
        _ = try? await repository.updateTask(migration.id) {
          $0.progress = progress.percent / 100
          $0.message = "\(Int(progress.percent))% sent (disks)"
        }
      }
      try await Task.sleep(for: .milliseconds(50))
    }
  }
}
