import Foundation
import Hypervisor
import KazeModel

/// Resync from persistent dirty bitmaps, for a primary QEMU without a mirror job (a new QEMU:
/// the VM was stopped and started, also while degraded) whose disk carries bitmaps that name the
/// very copy its secondary serves.
///
/// While a disk is in sync the agent rotates persistent bitmaps `kaze-<copy>-<n>` (every
/// `bitmapRotation` at most, keeping the two newest): their union holds every write since a
/// moment the copy was seen complete, because a write in flight then has ended within the
/// mirror's reconnect delay — shorter than a rotation — either on the copy or by stopping the
/// job (and a stopped job is not in sync, so no rotation follows until the resync copied it).
/// QEMU stores persistent bitmaps in the qcow2 image when it quits and loads them at the next
/// start; after a kill they are inconsistent and the next copy is a full one.
///
/// A new QEMU that finds two consistent bitmaps for the copy copies their union in passes of
/// `blockdev-backup sync=bitmap` (QEMU 7.2 runs no backup job on a node a mirror job holds), each
/// started in one transaction with a new bitmap that records the writes made during the pass.
/// When a pass leaves little, the guest pauses for the last pass, the write-blocking mirror
/// starts with nothing to copy (`sync: none`), and the guest resumes.
extension NodeAgent {
  static let bitmapRotation: Duration = .seconds(12)
  /// A pass leaving at most this much ends the resync (the guest pauses while it is copied).
  static let finalPassBytes: Int64 = 2 << 20
  static let maxResyncPasses = 10
  static let resyncBitmap = "kaze-resync"
  static let passPrefix = "kaze-pass-"
  static func passBitmap(_ pass: Int) -> String { passPrefix + "\(pass)" }
  static func trackingPrefix(_ copy: String) -> String { "kaze-\(copy)-" }

  enum ResyncStep {
    case copying(done: Int64, total: Int64)
    case failed(String)
    /// The mirror runs; `bytes` were copied from the bitmaps.
    case finished(bytes: Int64)
  }

  /// The bitmaps that track what `copy` lacks, oldest first.
  func trackingBitmaps(_ bitmaps: [DirtyBitmap], copy: String) -> [DirtyBitmap] {
    let prefix = Self.trackingPrefix(copy)
    func generation(_ bitmap: DirtyBitmap) -> Int { Int(bitmap.name.dropFirst(prefix.count)) ?? 0 }
    return bitmaps.filter { $0.name.hasPrefix(prefix) }.sorted { generation($0) < generation($1) }
  }

  /// While in sync: a new tracking bitmap, and only the two newest kept (with every other bitmap
  /// of ours gone). Returns whether two consistent ones track the copy now.
  func rotateBitmaps(node: String, copy: String, monitor: VMMonitor) async throws -> Bool {
    let bitmaps = try await monitor.dirtyBitmaps(node: node)
    let mine = trackingBitmaps(bitmaps, copy: copy).filter { !$0.inconsistent }
    let prefix = Self.trackingPrefix(copy)
    let next = (mine.last.flatMap { Int($0.name.dropFirst(prefix.count)) } ?? 0) + 1
    let name = prefix + "\(next)"
    try await monitor.addBitmap(node: node, name: name, persistent: true)
    let keep = Set([name] + (mine.last.map { [$0.name] } ?? []))
    for bitmap in bitmaps where bitmap.name.hasPrefix("kaze-") && !keep.contains(bitmap.name) {
      try await monitor.removeBitmap(node: node, name: bitmap.name)
    }
    return keep.count == 2
  }

  /// Removes every bitmap of ours from the node: they describe no copy a full mirror builds on.
  func dropBitmaps(node: String, monitor: VMMonitor) async {
    for bitmap in (try? await monitor.dirtyBitmaps(node: node)) ?? []
    where bitmap.name.hasPrefix("kaze-") {
      try? await monitor.removeBitmap(node: node, name: bitmap.name)
    }
  }

  /// Starts the first pass when the node's bitmaps track `target`'s copy; returns the bytes it
  /// copies, or nil when they do not (the copy needs everything).
  func startBitmapResync(
    node: String, disk: String, target: NBDExport, monitor: VMMonitor
  ) async throws
    -> Int64?
  {
    guard let copy = target.copy else { return nil }
    let bitmaps = try await monitor.dirtyBitmaps(node: node)
    let tracking = trackingBitmaps(bitmaps, copy: copy)
    guard tracking.count >= 2, tracking.allSatisfy({ !$0.inconsistent && $0.recording }) else {
      return nil
    }
    await abandonBitmapResync(node: node, disk: disk, target: target, monitor: monitor)
    let job = MirrorLink.resyncID(target)
    try await monitor.addNBDNode(
      job, host: target.host, port: target.port, export: target.name,
      reconnectDelay: Self.mirrorReconnectDelay)
    try await monitor.addBitmap(node: node, name: Self.resyncBitmap, disabled: true)
    try await monitor.transaction([
      .mergeBitmaps(node: node, into: Self.resyncBitmap, from: tracking.map(\.name)),
      .addBitmap(node: node, name: Self.passBitmap(1)),
      .backup(job: job, node: node, target: job, bitmap: Self.resyncBitmap),
    ])
    let merged = try await monitor.dirtyBitmaps(node: node).first { $0.name == Self.resyncBitmap }
    return merged?.count ?? 0
  }

  /// Moves a bitmap resync on after its pass `backup` made progress or ended.
  func advanceBitmapResync(
    vm: VM, node: String, disk: String, target: NBDExport, backup: BlockJobInfo,
    monitor: VMMonitor, copiedBefore: Int64
  ) async -> ResyncStep {
    guard backup.status == "concluded" else {
      return .copying(done: copiedBefore + backup.offset, total: copiedBefore + backup.length)
    }
    do {
      try await monitor.dismissJob(backup.id)
      if let error = backup.error { throw KazeError(.unavailable, error) }
      var copied = copiedBefore + backup.length
      let bitmaps = try await monitor.dirtyBitmaps(node: node)
      let pass =
        bitmaps.filter { $0.name.hasPrefix(Self.passPrefix) }
        .compactMap { Int($0.name.dropFirst(Self.passPrefix.count)) }.max() ?? 1
      // The bitmap the pass copied goes; the one that recorded the writes meanwhile is next.
      try await monitor.removeBitmap(
        node: node, name: pass == 1 ? Self.resyncBitmap : Self.passBitmap(pass - 1))
      let left = bitmaps.first { $0.name == Self.passBitmap(pass) }?.count ?? 0
      let nextPass: [BlockAction] = [
        .addBitmap(node: node, name: Self.passBitmap(pass + 1)),
        .backup(job: backup.id, node: node, target: backup.id, bitmap: Self.passBitmap(pass)),
      ]
      if left > Self.finalPassBytes && pass < Self.maxResyncPasses {
        try await monitor.transaction(nextPass)
        return .copying(done: copied, total: copied + left)
      }
      copied += try await finalPass(
        vm: vm, node: node, disk: disk, target: target, actions: nextPass, job: backup.id,
        written: Self.passBitmap(pass + 1), monitor: monitor)
      return .finished(bytes: copied)
    } catch {
      await abandonBitmapResync(node: node, disk: disk, target: target, monitor: monitor)
      return .failed("\(error)")
    }
  }

  /// The last pass, with the guest paused so that nothing is written between it and the start
  /// of the mirror; `written` records any write there was all the same (the resync then starts
  /// over). Returns the bytes the pass copied.
  private func finalPass(
    vm: VM, node: String, disk: String, target: NBDExport, actions: [BlockAction], job: String,
    written: String, monitor: VMMonitor
  ) async throws -> Int64 {
    guard var runtime = runtimes[vm.name], !runtime.busy else {
      throw KazeError(.conflict, "\(vm.name) is busy; the last pass waits")
    }
    runtime.busy = true
    runtimes[vm.name] = runtime
    let running = try await monitor.isRunning()
    if running { try await monitor.pause() }
    do {
      try await monitor.transaction(actions)
      var final: BlockJobInfo?
      let deadline = ContinuousClock.now + .seconds(60)
      while final == nil, ContinuousClock.now < deadline {
        final = try await monitor.blockJobs().first { $0.id == job && $0.status == "concluded" }
        if final == nil { try await Task.sleep(for: .milliseconds(10)) }
      }
      guard let final else { throw KazeError(.timeout, "the last resync pass did not end") }
      try await monitor.dismissJob(job)
      if let error = final.error { throw KazeError(.unavailable, error) }
      let mirror = MirrorLink.nodeName(target)
      try? await monitor.removeNode(mirror)
      try await monitor.addNBDNode(
        mirror, host: target.host, port: target.port, export: target.name,
        reconnectDelay: Self.mirrorReconnectDelay)
      try await monitor.startMirror(
        job: MirrorLink.jobID(target), device: node, target: mirror, writeBlocking: true,
        onTargetError: "stop", copyFirst: false)
      let late = try await monitor.dirtyBitmaps(node: node).first { $0.name == written }?.count
      if late ?? 0 > 0 {
        try? await monitor.abandonMirror(MirrorLink.jobID(target), targetNode: mirror)
        throw KazeError(.conflict, "the guest wrote during the last resync pass")
      }
      await abandonBitmapResync(node: node, disk: disk, target: target, monitor: monitor)
      if running { try await monitor.resume() }
      runtimes[vm.name]?.busy = false
      return final.length
    } catch {
      if running { try? await monitor.resume() }
      runtimes[vm.name]?.busy = false
      throw error
    }
  }

  /// Ends a bitmap resync: its backup job, NBD node, and pass bitmaps (the tracking bitmaps
  /// stay: they still hold everything the copy lacks).
  func abandonBitmapResync(
    node: String, disk: String, target: NBDExport?, monitor: VMMonitor
  ) async {
    let jobs = (try? await monitor.blockJobs()) ?? []
    for job in jobs where job.id.hasPrefix("resync-") && job.id.contains("-\(disk)-e") {
      try? await monitor.cancelBlockJob(job.id, force: true)
      try? await monitor.waitForBlockJobEnd(job.id, timeout: .seconds(5))
      try? await monitor.dismissJob(job.id)
      try? await monitor.removeNode(job.id)
    }
    if let target { try? await monitor.removeNode(MirrorLink.resyncID(target)) }
    for bitmap in (try? await monitor.dirtyBitmaps(node: node)) ?? []
    where bitmap.name == Self.resyncBitmap || bitmap.name.hasPrefix(Self.passPrefix) {
      try? await monitor.removeBitmap(node: node, name: bitmap.name)
    }
  }
}
