import Foundation
import Hypervisor
import KazeModel
import Networking

/// Every few seconds, reads this node's counters and those of each QEMU it runs into the
/// metrics recorder that the API's graphs read.
extension NodeAgent {
  static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

  func runMetrics() async {
    while !Task.isCancelled {
      if let reading = try? await runBlocking({ Self.nodeReading() }) {
        await metrics.record(
          .node(config.name), reading, cpus: ProcessInfo.processInfo.activeProcessorCount)
      }
      var running: Set<UUID> = []
      let vms = (try? await repository.vms()) ?? []
      for vm in vms {
        let name = vm.name
        guard let runtime = runtimes[name], let process = runtime.process,
          process.vmID == vm.id
        else { continue }
        running.insert(vm.id)
        let monitor = runtime.monitor
        let disks = (try? await monitor?.blockStats()) ?? (0, 0)
        let taps = vm.spec.nics.indices.compactMap { index -> String? in
          guard case .bridge = vm.spec.nics[index].kind else { return nil }
          return MACAddress.tapName(vmID: vm.id, index: index)
        }
        let reading = try? await runBlocking {
          Self.vmReading(
            pid: process.pid, memoryMiB: vm.spec.memoryMiB, disks: disks, taps: taps)
        }
        if let reading = reading ?? nil, runtimes[name]?.process == process {
          await metrics.record(.vm(vm.id), reading, cpus: vm.spec.cpus)
        }
      }
      await metrics.keepOnly(vms: running)
      try? await Task.sleep(for: metrics.interval)
    }
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
