import ClusterStore
import Foundation
import KazeModel
import Storage

extension NodeAgent {
  /// Beside a secondary copy `<disk>.qcow2`: its marker, three lines — the epoch the copy
  /// belongs to, the copy's id, the size it was made for.
  static let copyMarkerSuffix = ".secondary-epoch"

  static func copyMarker(of path: String) -> String { path + copyMarkerSuffix }

  /// Where this node's NBD export daemons keep their pidfiles.
  var exportRunDirectory: String { "\(config.dataDirectory)/run/nbd" }

  /// The address other nodes reach this node's exports on: the host of its API address.
  var exportHost: String {
    String(config.address.split(separator: ":").first ?? "127.0.0.1")
  }

  /// The secondary's side of replication: serves the copies this node holds for other nodes'
  /// VMs over NBD, each named with the VM's epoch, and stops every export it no longer should
  /// serve — before this node starts any VM, so a copy that became primary is never open twice.
  func reconcileReplicaExports(vms: [VM], replications: [String: Replication]) async {
    guard let pool = try? config.pools.pool(Replication.poolName) else { return }
    var wanted: Set<String> = []
    for vm in vms {
      guard let replication = replications[vm.name], replication.secondary == config.name,
        replication.epoch == vm.epoch, replication.primary != config.name,
        vm.node != config.name,
        // A QEMU of the VM still running here (a source finishing a migration) has the copy
        // open; a migration target's incoming QEMU does not until the switch-over.
        runtimes[vm.name].map({ $0.process == nil || $0.incomingMigration != nil }) ?? true
      else { continue }
      for disk in Replication.disks(of: vm) {
        let name = Replication.exportName(vmID: vm.id, disk: disk.name, epoch: replication.epoch)
        wanted.insert(name)
        do {
          try await serveCopy(
            of: vm, disk: disk, replication: replication, export: name, pool: pool)
        } catch {
          logger.warning("cannot serve the copy of \(vm.name)/\(disk.name): \(error)")
        }
      }
    }
    for export in NBDExportDaemon.exports(in: exportRunDirectory) where !wanted.contains(export) {
      if let daemon = NBDExportDaemon.find(
        export: export, host: exportHost, port: 0, runDirectory: exportRunDirectory)
      {
        await daemon.stop()
        logger.info("stopped NBD export \(export): this node no longer holds that secondary copy")
      }
      NBDExportDaemon.removePidfile(export: export, runDirectory: exportRunDirectory)
    }
    removeCopiesOfDeletedVMs(vms: vms, pool: pool)
    removeCopiesOfMovedDisks(vms: vms, pool: pool)
  }

  /// Removes the secondary copies of disks that moved off the replicated pool.
  private func removeCopiesOfMovedDisks(vms: [VM], pool: DirectoryPool) {
    let suffix = ".qcow2" + Self.copyMarkerSuffix
    for vm in vms where vm.node != config.name && runtimes[vm.name] == nil {
      let folder = pool.vmDirectory(vm.name)
      let replicated = Set(Replication.disks(of: vm).map(\.name))
      for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
      where file.hasSuffix(suffix) {
        let disk = String(file.dropLast(suffix.count))
        guard !replicated.contains(disk) else { continue }
        let path = pool.diskPath(vm: vm.name, disk: disk)
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: Self.copyMarker(of: path))
        logger.info("removed the copy of \(vm.name)/\(disk): it left the replicated pool")
      }
    }
  }

  private func serveCopy(
    of vm: VM, disk: DiskSpec, replication: Replication, export: String, pool: DirectoryPool
  ) async throws {
    let host = exportHost
    let path = pool.diskPath(vm: vm.name, disk: disk.name)
    let marker = Self.copyMarker(of: path)
    let lines = ((try? String(contentsOfFile: marker, encoding: .utf8)) ?? "")
      .split(whereSeparator: \.isNewline).map(String.init)
    var copy = lines.count > 1 ? lines[1] : nil
    // A disk that grew gets a new copy of its new size (copied whole) — once the primary has
    // stopped counting this one as in sync (a failover must never find a blank copy it trusts).
    let grown =
      lines.count > 2 && Int64(lines[2]) != disk.sizeBytes
      && replication.disks[disk.name]?.state != .inSync
    let fresh =
      lines.first != "\(replication.epoch)" || grown
      || !FileManager.default.fileExists(atPath: path)
    let published = replication.disks[disk.name]?.export
    let unchanged =
      published.map { $0.name == export && $0.host == host && $0.copy == copy } ?? false
    if let published, unchanged, !fresh, copy != nil,
      NBDExportDaemon.find(
        export: export, host: host, port: published.port, runDirectory: exportRunDirectory)
        != nil
    {
      return
    }
    if fresh || copy == nil {
      let id = String(UUID().uuidString.lowercased().prefix(8))
      let epoch = replication.epoch
      let size = disk.sizeBytes
      try await runBlocking {
        if fresh {
          // A new secondary copy for this epoch starts empty; the primary copies everything to
          // it. (What was here belonged to an older epoch: never a copy the VM runs from now.)
          try FileManager.default.createDirectory(
            atPath: pool.vmDirectory(vm.name), withIntermediateDirectories: true)
          try? FileManager.default.removeItem(atPath: path)
          try QemuImg.create(path: path, sizeBytes: disk.sizeBytes)
        }
        // (A copy from before copies had ids gets one: no bitmap of the primary names it.)
        try "\(epoch)\n\(id)\n\(size)\n".write(toFile: marker, atomically: true, encoding: .utf8)
      }
      copy = id
    }
    if let stale = NBDExportDaemon.find(
      export: export, host: host, port: 0, runDirectory: exportRunDirectory)
    {
      await stale.stop()
    }
    // The same port after a daemon restart (the primary's NBD client reconnects to it); a new
    // copy gets a new one, so no client takes it for the copy it knew.
    let samePort = !fresh && published.map { $0.name == export && $0.host == host } == true
    guard let port = samePort ? published?.port : TCPProbe.freePort(host: host) else {
      throw KazeError(.unavailable, "no free port on \(host) for an NBD export")
    }
    let runDirectory = exportRunDirectory
    _ = try await runBlocking {
      try NBDExportDaemon.start(
        image: path, export: export, host: host, port: port, runDirectory: runDirectory,
        writethrough: true)
    }
    let epoch = replication.epoch
    let me = config.name
    let served = NBDExport(host: host, port: port, name: export, copy: copy)
    try await repository.modifyReplication(vm.name) { record in
      guard record.epoch == epoch, record.secondary == me else { return false }
      record.disks[disk.name]?.export = served
      return true
    }
    await event(
      vm.name, "replication.serving",
      "\(config.name) serves the secondary copy of \(disk.name) on \(host):\(port) (epoch \(epoch))"
    )
  }

  /// Removes the secondary copies of VMs that no longer exist.
  private func removeCopiesOfDeletedVMs(vms: [VM], pool: DirectoryPool) {
    let names = Set(vms.map(\.name))
    let folder = "\(pool.root)/disks"
    for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    where !names.contains(name) && runtimes[name] == nil {
      // Only folders that were secondary copies; a primary's disks go with its delete task.
      let files = (try? FileManager.default.contentsOfDirectory(atPath: "\(folder)/\(name)")) ?? []
      guard files.contains(where: { $0.hasSuffix(Self.copyMarkerSuffix) }) else { continue }
      try? FileManager.default.removeItem(atPath: "\(folder)/\(name)")
      logger.info("removed the copies of deleted VM \(name) from the replicated pool")
    }
  }
}
