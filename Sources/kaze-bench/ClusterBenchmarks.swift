import ArgumentParser
import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Scheduler

/// Nodes on 127.0.0.2… sharing an etcd and a shared pool, for the cluster benchmarks.
final class BenchCluster: @unchecked Sendable {
  let etcd: EtcdCluster
  let shared: String
  var nodes: [BenchNode] = []

  init(nodes count: Int, kazed: String, leaseTTL: Int = 3) async throws {
    etcd = try EtcdCluster(members: 1)
    try etcd.start()
    try await etcd.waitUntilHealthy()
    shared =
      NSTemporaryDirectory() + "kaze-bench-shared-\(UUID().uuidString.prefix(8).lowercased())"
    try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
    for index in 1...count {
      nodes.append(
        try await BenchNode.start(
          kazed: kazed, name: "node-\(index)", host: "127.0.0.\(index + 1)",
          extra: [
            "--store", etcd.storeURL, "--shared-pool", shared, "--lease-ttl", "\(leaseTTL)",
          ]))
    }
  }

  func stop() {
    for node in nodes { node.stop() }
    etcd.destroy()
    try? FileManager.default.removeItem(atPath: shared)
  }
}

/// Live migration of the same idle 256 MiB guest, back and forth between two nodes.
struct MigrateBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "migrate", abstract: "Bare QEMU migrate vs kaze vm migrate, same guest.")
  @OptionGroup var options: BenchOptions
  @Option var runs = 5
  @Option(
    name: .customLong("local-disk-mib"),
    help: "Give the VM a disk of this size on the node-local pool (shared-nothing migration).")
  var localDiskMiB: Int?
  @Option(
    name: .customLong("replicated-disk-mib"),
    help:
      "Give the VM a disk of this size on the replicated pool: each run goes to the node holding its in-sync secondary copy (the fast path)."
  )
  var replicatedDiskMiB: Int?
  @Option(name: .customLong("disk-data-mib"), help: "Data written to that disk before the runs.")
  var diskDataMiB = 256

  func run() async throws {
    let bare = try await BareMigration(image: options.image).run(times: runs)
    let cluster = try await BenchCluster(nodes: 2, kazed: options.kazedPath())
    defer { cluster.stop() }
    let client = cluster.nodes[0].client
    _ = try await client.importImage(
      ImportImageRequest(
        name: "tiny", kernel: options.image + "/vmlinuz", initrd: options.image + "/initrd.img",
        cmdline: "quiet"))
    let disk =
      localDiskMiB.map { ($0, "local") } ?? replicatedDiskMiB.map { ($0, Replication.poolName) }
    if let (diskMiB, pool) = disk {
      _ = try await client.createVM(
        CreateVMRequest(
          name: "mover", image: "tiny", memoryMiB: 256,
          disks: [DiskRequest(size: "\(diskMiB)M", pool: pool)], node: "node-1", start: true))
      // Fill part of the disk while the VM is stopped, so the copy has data to carry.
      try await cluster.nodes[0].until(timeout: .seconds(120)) {
        (try? await client.vm("mover").status.phase) == .running
      }
      _ = try await client.perform(.stop, on: "mover")
      let path = cluster.nodes[0].dataDir + "/pools/\(pool)/disks/mover/disk0.qcow2"
      try ProcessRunner.run(
        "qemu-io", ["-f", "qcow2", "-c", "write -P 0x5a 0 \(diskDataMiB)M", path])
      _ = try await client.perform(.start, on: "mover")
      print("the VM has a \(diskMiB) MiB disk on pool \(pool) holding \(diskDataMiB) MiB")
    } else {
      _ = try await client.createVM(
        CreateVMRequest(name: "mover", image: "tiny", memoryMiB: 256, start: true))
    }
    try await cluster.nodes[0].until(timeout: .seconds(120)) {
      (try? await client.console("mover", lines: 20).lines.contains { $0.hasPrefix("tick 2") })
        == true
    }
    var endToEnd: [Double] = []
    var total: [Double] = []
    var downtime: [Double] = []
    var switchover: [Double] = []
    var guestDowntime: [Double] = []
    for run in 1...runs {
      if replicatedDiskMiB != nil {
        // The fast path needs the copy on the other node in sync.
        try await cluster.nodes[0].until(timeout: .seconds(300)) {
          let view = try? await client.vm("mover")
          return view?.replication?.allInSync == true
            && view?.replication?.primary == view?.vm.node
        }
      }
      let view = try await client.vm("mover")
      let target = view.vm.node == "node-1" ? "node-2" : "node-1"
      let clock = ContinuousClock()
      let start = clock.now
      let migration = try await client.migrate("mover", MigrateRequest(to: target), wait: true)
      let seconds = (clock.now - start).seconds
      endToEnd.append(seconds)
      total.append(Double(migration.progress.totalTimeMs ?? 0) / 1000)
      downtime.append(Double(migration.progress.downtimeMs ?? 0))
      try await cluster.nodes[0].until(timeout: .seconds(60)) {
        let view = try? await client.vm("mover")
        return view?.status.node == target && view?.status.phase == .running
      }
      var fastPath = ""
      if migration.reusedCopies?.isEmpty == false {
        // The target records its switch-over once the guest runs there.
        var waited: Int?
        try await cluster.nodes[0].until(timeout: .seconds(30)) {
          waited = try? await client.migration("mover").progress.switchoverMs
          return waited != nil
        }
        switchover.append(Double(waited ?? 0))
        guestDowntime.append((downtime.last ?? 0) + Double(waited ?? 0))
        fastPath = String(format: " + switch-over on the target %d ms (reused copies)", waited ?? 0)
      }
      print(
        String(
          format: "kaze run %d: to %@ end-to-end %.3f s, QEMU total %.3f s, downtime %.0f ms", run,
          target, seconds, total.last ?? 0, downtime.last ?? 0) + fastPath)
    }
    print(
      String(
        format: "bare QEMU, median of %d: total %.3f s, downtime %.0f ms", runs,
        median(bare.map(\.total)), median(bare.map(\.downtime))))
    print(
      String(
        format:
          "kaze vm migrate, median of %d: end-to-end %.3f s, QEMU total %.3f s, downtime %.0f ms; end-to-end / bare total = %.2f",
        runs, median(endToEnd), median(total), median(downtime),
        median(endToEnd) / max(0.001, median(bare.map(\.total)))))
    if !switchover.isEmpty {
      let guest = guestDowntime
      print(
        String(
          format:
            "fast path (%d of %d runs reused the target's copies): switch-over median %.0f ms; guest downtime (QEMU's + switch-over) median %.0f ms, max %.0f ms",
          switchover.count, runs, median(switchover), median(guest), guest.max() ?? 0))
    }
  }
}

/// From `kill -9` of the leader's kazed to another node holding the leader key.
struct FailoverBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "failover", abstract: "Leader failover time in a three-node cluster.")
  @OptionGroup var options: BenchOptions
  @Option var runs = 5
  @Option(help: "Node lease TTL, seconds.") var leaseTtl = 3

  func run() async throws {
    let cluster = try await BenchCluster(nodes: 3, kazed: options.kazedPath(), leaseTTL: leaseTtl)
    defer { cluster.stop() }
    var times: [Double] = []
    for run in 1...runs {
      var leader: String?
      try await cluster.nodes[0].until(timeout: .seconds(60)) {
        leader = try? await cluster.nodes[0].client.clusterStatus().leader
        return leader != nil
      }
      guard let old = leader, let index = cluster.nodes.firstIndex(where: { $0.name == old }) else {
        continue
      }
      let observer = cluster.nodes[(index + 1) % cluster.nodes.count].client
      let clock = ContinuousClock()
      let start = clock.now
      cluster.nodes[index].crash()
      try await cluster.nodes[0].until(poll: .milliseconds(20), timeout: .seconds(60)) {
        let now = try? await observer.clusterStatus().leader
        return now != nil && now != old
      }
      let seconds = (clock.now - start).seconds
      times.append(seconds)
      print(String(format: "run %d: %@ killed, new leader after %.2f s", run, old, seconds))
      let crashed = cluster.nodes[index]
      crashed.stop()
      cluster.nodes[index] = try await BenchNode.start(
        kazed: options.kazedPath(), name: crashed.name, host: "127.0.0.\(index + 2)",
        extra: [
          "--store", cluster.etcd.storeURL, "--shared-pool", cluster.shared, "--lease-ttl",
          "\(leaseTtl)",
        ])
    }
    print(
      String(
        format: "leader failover with a %d s lease, median of %d: %.2f s (max %.2f s)", leaseTtl,
        times.count, median(times), times.max() ?? 0))
  }
}

/// Placing 10,000 VMs onto 1,000 simulated nodes with the pure scheduler.
struct SchedulerBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scheduler", abstract: "Time to place many VMs on a simulated cluster.")
  @Option var nodes = 1000
  @Option var vms = 10_000

  func run() async throws {
    let entries = (1...nodes).map { index in
      ClusterSnapshot.NodeEntry(
        node: Node(
          name: String(format: "node-%04d", index), address: "10.0.0.1:7070", cpus: 16,
          memoryMiB: 65_536, accelerator: .kvm, acceleratorReason: "simulated", qemuVersion: "7.2"),
        online: true)
    }
    let requests = (1...vms).map {
      PlacementRequest(
        vm: "vm-\($0)", cpus: [1, 2, 4][$0 % 3], memoryMiB: [1024, 2048, 4096][$0 % 3])
    }
    var snapshot = ClusterSnapshot(nodes: entries)
    let clock = ContinuousClock()
    let start = clock.now
    let results = Placement.placeAll(requests, in: &snapshot)
    let seconds = (clock.now - start).seconds
    let placed = results.filter { (try? $0.get()) != nil }.count
    print(String(format: "placed %d of %d VMs on %d nodes in %.3f s", placed, vms, nodes, seconds))
  }
}

/// RTO: from the power loss of a node (kazed and its QEMUs killed) to its HA VM's QEMU running
/// on another node, and to the guest's first tick there.
struct HABench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ha", abstract: "Recovery time of an HA VM after a node's power loss.")
  @OptionGroup var options: BenchOptions
  @Option var runs = 10
  @Option(help: "Node lease TTL, seconds.") var leaseTtl = 3

  func run() async throws {
    let cluster = try await BenchCluster(nodes: 3, kazed: options.kazedPath(), leaseTTL: leaseTtl)
    defer { cluster.stop() }
    try await cluster.nodes[0].importImage(options.image)
    var toRunning: [Double] = []
    var toTick: [Double] = []
    for run in 1...runs {
      let index = run % cluster.nodes.count
      let victim = cluster.nodes[index]
      let observer = cluster.nodes[(index + 1) % cluster.nodes.count].client
      let name = "ha-\(run)"
      _ = try await observer.createVM(
        CreateVMRequest(
          name: name, image: "tiny", memoryMiB: 160, node: victim.name, ha: HAPolicy(), start: true),
        force: true)
      try await victim.until(timeout: .seconds(120)) {
        (try? await observer.console(name, lines: 20).lines.contains { $0.hasPrefix("tick") })
          == true
      }
      let clock = ContinuousClock()
      let start = clock.now
      victim.powerLoss()
      var elsewhere: String?
      try await victim.until(poll: .milliseconds(20), timeout: .seconds(120)) {
        let view = try? await observer.vm(name)
        guard let view, view.status.phase == .running, view.vm.node != victim.name,
          view.status.node == view.vm.node
        else { return false }
        elsewhere = view.vm.node
        return true
      }
      let running = (clock.now - start).seconds
      let target = cluster.nodes.first { $0.name == elsewhere }
      try await victim.until(poll: .milliseconds(20), timeout: .seconds(120)) {
        let log =
          target.map {
            (try? String(
              contentsOfFile: $0.consoleLogPath(vmName: name, client: observer), encoding: .utf8))
              ?? ""
          } ?? ""
        return log.contains("tick 1")
      }
      let tick = (clock.now - start).seconds
      toRunning.append(running)
      toTick.append(tick)
      print(
        String(
          format: "run %2d: %@ lost; %@ running on %@ after %.2f s, first tick after %.2f s", run,
          victim.name, name, elsewhere ?? "?", running, tick))
      cluster.nodes[index] = try await BenchNode.start(
        kazed: options.kazedPath(), name: victim.name, host: "127.0.0.\(index + 2)",
        extra: [
          "--store", cluster.etcd.storeURL, "--shared-pool", cluster.shared, "--lease-ttl",
          "\(leaseTtl)",
        ])
      try await cluster.nodes[index].until(timeout: .seconds(60)) {
        (try? await observer.node(victim.name).state) == .online
      }
      _ = try? await observer.perform(.stop, on: name)
      try? await observer.deleteVM(name, force: true)
    }
    print(
      String(
        format:
          "HA recovery after power loss (lease %d s), %d runs: to running median %.2f s, max %.2f s; to first tick median %.2f s, max %.2f s",
        leaseTtl, runs, median(toRunning), toRunning.max() ?? 0, median(toTick), toTick.max() ?? 0))
  }
}
