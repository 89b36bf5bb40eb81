import ArgumentParser
import Foundation
import Hypervisor
import KazeModel
import KazeTestSupport
import Logging
import Storage

#if canImport(Glibc)
  import Glibc
#endif

/// The data path of a replicated disk against a local one, in one QEMU: disk0 mirrored
/// write-blocking to a qemu-storage-daemon export (writethrough, as Kaze's secondaries run), disk1
/// local only. Writes go through each disk's block node with qemu-io, the path a guest's writes
/// take (through the mirror filter); both disks pay the same monitor round trip per command.
struct ReplicationBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "replication",
    abstract: "Write throughput and flush latency replicated vs local; resync vs full copy.")
  @Option(name: .customLong("disk-mib"), help: "Disk size in MiB.") var diskMiB = 1024
  @Option(name: .customLong("data-mib"), help: "Data written before the first (full) copy, in MiB.")
  var dataMiB = 256
  @Option(name: .customLong("delta-mib"), help: "Data written while the secondary is away, in MiB.")
  var deltaMiB = 16
  @Option(help: "4 KiB write + flush pairs per disk for the latency figure.") var flushes = 200
  @Option(
    name: .customLong("throughput-mib"), help: "MiB written per disk for the throughput figure.")
  var throughputMiB = 64

  func run() async throws {
    let root =
      NSTemporaryDirectory() + "kaze-bench-repl-\(UUID().uuidString.prefix(8).lowercased())"
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    var pids: [pid_t] = []
    defer {
      for pid in pids { kill(pid, SIGKILL) }
      try? FileManager.default.removeItem(atPath: root)
    }
    for name in ["primary", "local", "secondary"] {
      try ProcessRunner.run(
        "qemu-img", ["create", "-q", "-f", "qcow2", "\(root)/\(name).qcow2", "\(diskMiB)M"])
    }
    let port = try FreePort.next(host: "127.0.0.1")
    let export = "vmbench-disk0-e1"
    func serve() throws -> NBDExportDaemon {
      let daemon = try NBDExportDaemon.start(
        image: "\(root)/secondary.qcow2", export: export, host: "127.0.0.1", port: port,
        runDirectory: root, writethrough: true)
      pids.append(daemon.pid)
      return daemon
    }
    var daemon = try serve()
    try ProcessRunner.run(
      "qemu-system-x86_64",
      [
        "-name", "guest=bench", "-machine", "pc", "-accel", "tcg", "-m", "256", "-nodefaults",
        "-display", "none", "-S", "-qmp", "unix:\(root)/qmp.sock,server=on,wait=off",
        "-daemonize", "-pidfile", "\(root)/qemu.pid",
        "-blockdev",
        "driver=file,filename=\(root)/primary.qcow2,node-name=disk0-file,cache.direct=off",
        "-blockdev", "driver=qcow2,file=disk0-file,node-name=disk0",
        "-device", "virtio-blk-pci,drive=disk0,id=disk0-dev",
        "-blockdev",
        "driver=file,filename=\(root)/local.qcow2,node-name=disk1-file,cache.direct=off",
        "-blockdev", "driver=qcow2,file=disk1-file,node-name=disk1",
        "-device", "virtio-blk-pci,drive=disk1,id=disk1-dev",
      ])
    let qemuPid = pid_t(
      try String(contentsOfFile: "\(root)/qemu.pid", encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines))
    if let qemuPid { pids.append(qemuPid) }
    let monitor = try await VMMonitor.connect(
      socketPath: "\(root)/qmp.sock", logger: Logger(label: "kaze-bench"))
    let primary = "disk0-dev/virtio-backend"
    let local = "disk1-dev/virtio-backend"
    let clock = ContinuousClock()

    // Data on the disk before the secondary joins, then the first (full) copy.
    try await write(monitor, primary, mebibytes: dataMiB, at: 0)
    try await monitor.addNBDNode(
      "replica", host: "127.0.0.1", port: port, export: export, reconnectDelay: 5)
    var started = clock.now
    try await monitor.startMirror(
      job: "replica", device: "disk0", target: "replica", writeBlocking: true,
      onTargetError: "stop")
    try await waitInSync(monitor)
    let fullCopy = (clock.now - started).seconds
    print(
      String(
        format: "full copy of a %d MiB disk holding %d MiB: %.2f s", diskMiB, dataMiB, fullCopy))

    // Throughput and flush latency, replicated vs local.
    var figures: [String: (throughput: Double, flush: Double)] = [:]
    for (label, device) in [("replicated", primary), ("local", local)] {
      started = clock.now
      try await write(monitor, device, mebibytes: throughputMiB, at: Int64(dataMiB) << 20)
      _ = try await monitor.qemuIO(device: device, "flush")
      let throughput = Double(throughputMiB) / (clock.now - started).seconds
      started = clock.now
      for index in 0..<flushes {
        let offset = (Int64(dataMiB + throughputMiB) << 20) + Int64(index) * 4096
        _ = try await monitor.qemuIO(device: device, "write -P 0x33 \(offset) 4k")
        _ = try await monitor.qemuIO(device: device, "flush")
      }
      let flush = (clock.now - started).seconds / Double(flushes) * 1000
      figures[label] = (throughput, flush)
      print(
        String(
          format: "%@ disk: %.1f MiB/s sequential 4 MiB writes, %.2f ms per 4 KiB write + flush",
          label, throughput, flush))
    }
    if let replicated = figures["replicated"], let local = figures["local"] {
      print(
        String(
          format: "replicated / local: throughput %.2f, write+flush latency %.2f",
          replicated.throughput / local.throughput, replicated.flush / local.flush))
    }

    // The secondary goes away; the primary writes a delta; it comes back and only that is copied.
    await daemon.stop(timeout: .zero)
    try await write(monitor, primary, mebibytes: deltaMiB, at: Int64(diskMiB / 2) << 20)
    try await waitForJob(monitor) { ["paused", "standby"].contains($0.status) }
    daemon = try serve()
    let job = try await monitor.blockJobs().first { $0.id == "replica" }
    let pending = (job?.length ?? 0) - (job?.offset ?? 0)
    // QEMU's NBD client reconnects in the background (within seconds); until it has, a resumed
    // job stops again at once, so resume until it runs, as the agent does every round.
    let back = clock.now
    var resumed = clock.now
    while true {
      resumed = clock.now
      try await monitor.resumeBlockJob("replica")
      try await Task.sleep(for: .milliseconds(100))
      let status = try await monitor.blockJobs().first { $0.id == "replica" }?.status
      if status != "standby" && status != "paused" { break }
      if clock.now - back > .seconds(60) {
        throw KazeError(.timeout, "the mirror did not reconnect to the secondary in a minute")
      }
    }
    try await waitInSync(monitor)
    let resync = (clock.now - resumed).seconds
    print(
      String(
        format:
          "resync after %d MiB written while degraded: %.2f s to copy %.1f MiB (+ %.2f s for "
          + "QEMU to reconnect) vs full copy %.2f s",
        deltaMiB, resync, Double(pending) / 1_048_576, (resumed - back).seconds, fullCopy))
    await monitor.close()
  }

  private func write(
    _ monitor: VMMonitor, _ device: String, mebibytes: Int, at offset: Int64
  )
    async throws
  {
    for chunk in 0..<(mebibytes / 4) {
      let answer = try await monitor.qemuIO(
        device: device, "write -P 0x5a \(offset + Int64(chunk) * (4 << 20)) 4M")
      if !answer.isEmpty { print("qemu-io: \(answer)") }
    }
  }

  private func waitInSync(_ monitor: VMMonitor) async throws {
    try await waitForJob(monitor) { $0.ready && $0.offset == $0.length && $0.status == "ready" }
  }

  private func waitForJob(_ monitor: VMMonitor, _ condition: (BlockJobInfo) -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(60)
    var last: BlockJobInfo?
    while clock.now < deadline {
      last = try await monitor.blockJobs().first { $0.id == "replica" }
      if let last, condition(last) { return }
      try await Task.sleep(for: .milliseconds(20))
    }
    throw KazeError(
      .timeout, "the mirror job did not get there in a minute; it is \(String(describing: last))")
  }
}
