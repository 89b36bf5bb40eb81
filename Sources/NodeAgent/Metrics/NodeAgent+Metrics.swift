import Foundation
import Hypervisor
import KazeModel
import Networking

/// Every `metrics.interval`, reads this node's counters and those of each QEMU it runs into the
/// metrics recorder that the API's graphs read.
extension NodeAgent {
  static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

  /// Also refreshes the host facts in the node record (see `refreshHostFacts`).
  func runMetrics() async {
    while !Task.isCancelled {
      await sampleLoad()
      await refreshHostFacts()
      try? await Task.sleep(for: metrics.interval)
    }
  }

  /// One round: QMP for the guests' disk bytes, then every /proc and /sys read in one go.
  private func sampleLoad() async {
    struct Guest: Sendable {
      var vm: VM
      var process: QEMUProcess
      var disks: (read: UInt64, written: UInt64)
      var taps: [String]
    }
    var guests: [Guest] = []
    for vm in assignedVMs {
      guard let runtime = runtimes[vm.name], let process = runtime.process,
        process.vmID == vm.id
      else { continue }
      let disks = (try? await runtime.monitor?.blockStats()) ?? (0, 0)
      let taps = vm.spec.nics.indices.compactMap { index -> String? in
        guard case .bridge = vm.spec.nics[index].kind else { return nil }
        return MACAddress.tapName(vmID: vm.id, index: index)
      }
      guests.append(Guest(vm: vm, process: process, disks: disks, taps: taps))
    }
    let snapshot = guests
    let readings = try? await runBlocking {
      (
        Self.nodeReading(),
        snapshot.map {
          Self.vmReading(
            pid: $0.process.pid, memoryMiB: $0.vm.spec.memoryMiB, disks: $0.disks, taps: $0.taps)
        }
      )
    }
    guard let (node, vms) = readings else { return }
    if let node {
      await metrics.record(
        .node(config.name), node, cpus: ProcessInfo.processInfo.activeProcessorCount)
    }
    for (guest, reading) in zip(guests, vms) {
      // Skip a QEMU that went away meanwhile (its counters would start a new series).
      guard let reading, runtimes[guest.vm.name]?.process == guest.process else { continue }
      await metrics.record(.vm(guest.vm.id), reading, cpus: guest.vm.spec.cpus)
    }
    await metrics.keepOnly(vms: Set(guests.map(\.vm.id)))
  }

  static func nodeReading() -> MetricsRecorder.Reading? {
    guard let cpu = ProcCounters.cpu(stat: read("/proc/stat")),
      let memory = ProcCounters.memory(meminfo: read("/proc/meminfo"))
    else { return nil }
    let wholeDisks = Set(
      (try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? [])
    let disks = ProcCounters.disks(diskstats: read("/proc/diskstats"), wholeDisks: wholeDisks)
    let physical = Set(
      ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []).filter {
        FileManager.default.fileExists(atPath: "/sys/class/net/\($0)/device")
      })
    // Count the physical interfaces (bridges and VM taps carry the same bytes again); a node
    // without any (a container) counts every interface but loopback and VM taps.
    let network = ProcCounters.network(netdev: read("/proc/net/dev")) { name in
      physical.isEmpty ? name.hasPrefix("kz") : !physical.contains(name)
    }
    return MetricsRecorder.Reading(
      at: .now, cpuBusy: Double(cpu.busy) / ticksPerSecond,
      cpuCapacity: Double(cpu.total) / ticksPerSecond, memoryUsed: memory.used,
      memoryTotal: memory.total, diskRead: disks.read, diskWritten: disks.written,
      netReceived: network.received, netSent: network.sent)
  }

  /// A QEMU's CPU time and resident memory, its guest's disk bytes, and its taps' bytes seen
  /// from the guest (a tap's transmit is the guest's receive).
  static func vmReading(
    pid: Int32, memoryMiB: Int, disks: (read: UInt64, written: UInt64), taps: [String]
  ) -> MetricsRecorder.Reading? {
    guard let cpu = ProcCounters.processCPU(stat: read("/proc/\(pid)/stat")),
      let resident = ProcCounters.residentBytes(statm: read("/proc/\(pid)/statm"))
    else { return nil }
    var received: UInt64?
    var sent: UInt64?
    for tap in taps {
      let statistics = "/sys/class/net/\(tap)/statistics"
      guard let tx = UInt64(read("\(statistics)/tx_bytes").trimmed),
        let rx = UInt64(read("\(statistics)/rx_bytes").trimmed)
      else { continue }
      received = (received ?? 0) + tx
      sent = (sent ?? 0) + rx
    }
    return MetricsRecorder.Reading(
      at: .now, cpuBusy: Double(cpu) / ticksPerSecond, cpuCapacity: 0, memoryUsed: resident,
      memoryTotal: Int64(memoryMiB) * 1_048_576, diskRead: disks.read,
      diskWritten: disks.written, netReceived: received, netSent: sent)
  }

  private static func read(_ path: String) -> String {
    (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
  }
}

extension String {
  fileprivate var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
