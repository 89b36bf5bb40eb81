import ClusterStore
import Foundation
import Hypervisor
import KazeModel
import Storage

extension NodeAgent {
  /// Runs the queued tasks addressed to this node, oldest first.
  func runTasks(for vms: [VM]) async {
    let tasks: [KazeTask]
    do {
      tasks = try await repository.tasks().filter {
        $0.node == config.name && $0.state == .queued && $0.kind != .migrate
      }
    } catch {
      return
    }
    for task in tasks {
      let vm = vms.first { $0.name == task.vm }
      if task.kind == .diskMove, let vm {
        // A long copy: it runs beside the reconcile loop and finishes its task itself.
        guard (try? await repository.updateTask(task.id) { $0.state = .running }) != nil else {
          continue
        }
        startDiskMove(task, vm: vm)
        continue
      }
      do {
        try await repository.updateTask(task.id) { $0.state = .running }
        await finish(task, .success(try await execute(task, vm: vm)))
      } catch {
        await finish(task, .failure(error))
      }
    }
  }

  private func execute(_ task: KazeTask, vm: VM?) async throws -> String {
    guard let vm else { throw KazeError.notFound("VM", task.vm ?? "?") }
    let parameter = { (name: String) throws -> String in
      guard let value = task.parameters[name] else {
        throw KazeError(.invalidArgument, "task \(task.id) lacks \(name)")
      }
      return value
    }
    let pools = config.pools
    let paths = try vm.spec.disks.map { try pools.diskPath(vm: vm.name, disk: $0) }
    switch task.kind {
    case .migrate:
      throw KazeError(
        .invalidState, "migrations are driven by their own record, not as queued tasks")
    case .diskMove:
      throw KazeError(.notFound, "the VM of this disk move is not on \(config.name)")
    case .snapshotCreate:
      try requireStopped(vm, for: "take a snapshot of")
      let name = try parameter("name")
      try await ensureDisks(vm)
      try await runBlocking {
        for path in paths { try QemuImg.createSnapshot(path: path, name: name) }
      }
      try await repository.store.putJSON(
        StoreKeys.snapshot(vm.name, name),
        Snapshot(vm: vm.name, name: name, description: task.parameters["description"]))
      await event(vm.name, "snapshot.created", "snapshot \(name) taken")
      return "snapshot \(name) of \(vm.name) taken"
    case .snapshotRevert:
      try requireStopped(vm, for: "revert")
      let name = try parameter("name")
      try await runBlocking {
        for path in paths { try QemuImg.revertSnapshot(path: path, name: name) }
      }
      await event(vm.name, "snapshot.reverted", "disks reverted to snapshot \(name)")
      return "\(vm.name) reverted to \(name)"
    case .snapshotDelete:
      try requireStopped(vm, for: "delete a snapshot of")
      let name = try parameter("name")
      try await runBlocking {
        for path in paths where FileManager.default.fileExists(atPath: path) {
          if try QemuImg.snapshots(path: path).contains(name) {
            try QemuImg.deleteSnapshot(path: path, name: name)
          }
        }
      }
      try await repository.store.delete(StoreKeys.snapshot(vm.name, name))
      await event(vm.name, "snapshot.deleted", "snapshot \(name) deleted")
      return "snapshot \(name) deleted"
    case .diskResize:
      let diskName = try parameter("disk")
      guard let disk = vm.spec.disks.first(where: { $0.name == diskName }) else {
        throw KazeError.notFound("disk", diskName)
      }
      if let monitor = runtimes[vm.name]?.monitor, runtimes[vm.name]?.process != nil {
        // (Registered first: a failed stop must not leave the disk away from the replica monitor.)
        defer { runtimes[vm.name]?.movingDisks.remove(disk.name) }
        if disk.pool == Replication.poolName {
          // The copy on the secondary is made anew at the new size, then copied whole.
          try await stopReplicating(vm, disk: disk, monitor: monitor)
        }
        let path = try pools.diskPath(vm: vm.name, disk: disk)
        var node = try? await monitor.formatNode(path: path)
        if node == nil { node = try? await monitor.activeNode(device: "\(disk.name)-dev") }
        try await monitor.resize(node: node ?? disk.name, sizeBytes: disk.sizeBytes)
      } else {
        if disk.pool == Replication.poolName {
          try await markReplicas(of: vm, .degraded) { name, _ in name == disk.name }
        }
        _ = try await runBlocking { try pools.pool(disk.pool).ensureDisk(vm: vm.name, spec: disk) }
      }
      await event(vm.name, "disk.resized", "\(diskName) grown to \(disk.sizeBytes.humanBytes)")
      return "\(diskName) is \(disk.sizeBytes.humanBytes)"
    case .diskDelete:
      try requireStopped(vm, for: "delete a disk of")
      let diskName = try parameter("disk")
      let pool = try pools.pool(task.parameters["pool"] ?? pools.all[0].name)
      let path = pool.diskPath(vm: vm.name, disk: diskName)
      try await runBlocking {
        if FileManager.default.fileExists(atPath: path) {
          try FileManager.default.removeItem(atPath: path)
        }
      }
      await event(vm.name, "disk.deleted", "\(diskName) deleted")
      return "\(diskName) deleted"
    case .templateCreate:
      try requireStopped(vm, for: "make a template of")
      let name = try parameter("name")
      guard let first = paths.first else {
        throw KazeError(.invalidState, "\(vm.name) has no disk to make a template from")
      }
      try await ensureDisks(vm)
      let library = ImageLibrary(pool: pools.images)
      let image = try await runBlocking {
        try library.makeTemplate(name: name, vm: vm, diskPath: first)
      }
      do {
        try await repository.createImage(image)
      } catch {
        try? library.delete(name: name)
        throw error
      }
      await event(vm.name, "template.created", "template \(name) made from \(vm.name)")
      return "template \(name) created"
    case .vmDelete:
      if var runtime = runtimes[vm.name], let process = runtime.process {
        runtime.expectingExit = true
        runtimes[vm.name] = runtime
        await runtime.monitor?.close()
        await process.kill()
      }
      removeTaps(vm)
      runtimes[vm.name] = nil
      let runDirectory = config.runDirectory(for: vm)
      try await runBlocking {
        try pools.deleteDisks(vm: vm.name)
        if FileManager.default.fileExists(atPath: runDirectory) {
          try FileManager.default.removeItem(atPath: runDirectory)
        }
      }
      try await repository.deleteVM(vm.name)
      await event(vm.name, "vm.deleted", "deleted with its disks")
      return "\(vm.name) deleted"
    }
  }

  /// Records a task's outcome (and a `task.failed` event when it failed).
  func finish(_ task: KazeTask, _ outcome: Result<String, any Error>) async {
    switch outcome {
    case .success(let message):
      _ = try? await repository.updateTask(task.id) {
        $0.state = .succeeded
        $0.message = message
        $0.progress = 1
        $0.finishedAt = Date()
      }
    case .failure(let error):
      let reason = (error as? KazeError)?.description ?? "\(error)"
      _ = try? await repository.updateTask(task.id) {
        $0.state = .failed
        $0.message = reason
        $0.finishedAt = Date()
      }
      if let vm = task.vm {
        await event(vm, "task.failed", "\(task.kind.rawValue) failed: \(reason)", level: .warning)
      }
    }
  }

  private func requireStopped(_ vm: VM, for action: String) throws {
    if runtimes[vm.name]?.process != nil {
      throw KazeError(.invalidState, "cannot \(action) \(vm.name) while it runs; stop it first")
    }
  }

  private func ensureDisks(_ vm: VM) async throws {
    let pools = config.pools
    _ = try await runBlocking { try pools.ensureDisks(of: vm) }
  }
}
