import Foundation
import KazeModel
import Testing

@testable import NodeAgent

@Suite("Load graphs: the kernel's counters and the rates made of them")
struct MetricsTests {
  @Test("the node's CPU time: busy is everything but idle and iowait")
  func cpu() throws {
    let stat = "cpu  100 5 50 800 20 0 25 0 0 0\ncpu0 50 2 25 400 10 0 12 0 0 0\n"
    let counted = try #require(ProcCounters.cpu(stat: stat))
    #expect(counted.total == 1000)
    #expect(counted.busy == 180)
    #expect(ProcCounters.cpu(stat: "intr 5\n") == nil)
  }

  @Test("memory in use is total minus available")
  func memory() throws {
    let meminfo = "MemTotal:       1000 kB\nMemFree:         200 kB\nMemAvailable:    600 kB\n"
    let counted = try #require(ProcCounters.memory(meminfo: meminfo))
    #expect(counted.total == 1_024_000)
    #expect(counted.used == 409_600)
  }

  @Test("disks: whole physical disks only, 512-byte sectors")
  func disks() {
    let diskstats = """
         7       0 loop0 10 0 100 0 10 0 100 0 0 0 0
       254       0 vda 1 0 8 0 2 0 16 0 0 0 0
       254       1 vda1 1 0 8 0 2 0 16 0 0 0 0
       253       0 dm-0 1 0 8 0 2 0 16 0 0 0 0
         8       0 sda 1 0 4 0 2 0 2 0 0 0 0
      """
    let counted = ProcCounters.disks(
      diskstats: diskstats, wholeDisks: ["loop0", "vda", "dm-0", "sda"])
    #expect(counted.read == 12 * 512)
    #expect(counted.written == 18 * 512)
  }

  @Test("network: all interfaces but loopback and the excluded ones")
  func network() {
    let netdev = """
      Inter-|   Receive                                                |  Transmit
       face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
          lo: 500 5 0 0 0 0 0 0 500 5 0 0 0 0 0 0
        eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0
      kzabc0n0: 7 1 0 0 0 0 0 0 9 1 0 0 0 0 0 0
      """
    let counted = ProcCounters.network(netdev: netdev) { $0.hasPrefix("kz") }
    #expect(counted.received == 1000)
    #expect(counted.sent == 2000)
  }

  @Test("a process's CPU ticks survive spaces and parentheses in its name")
  func processCPU() {
    let stat = "42 (qemu (x) y) S 1 42 42 0 -1 4194560 10 0 0 0 300 45 0 0 20 0 3 0 100 0 0"
    #expect(ProcCounters.processCPU(stat: stat) == 345)
    #expect(ProcCounters.residentBytes(statm: "765 440 412 5 0 123 0") == Int64(1_802_240))
  }

  @Test("samples are rates between readings, scaled to the CPUs, and only the last hour is kept")
  func recorder() async {
    let recorder = MetricsRecorder(interval: .seconds(5), keep: .seconds(15))
    let start = ContinuousClock.now
    let id = UUID()
    func reading(_ seconds: Int, cpu: Double, read: UInt64) -> MetricsRecorder.Reading {
      MetricsRecorder.Reading(
        at: start + .seconds(seconds), cpuBusy: cpu, cpuCapacity: 0, memoryUsed: 10,
        memoryTotal: 100, diskRead: read, diskWritten: 0, netReceived: nil, netSent: nil)
    }
    await recorder.record(.vm(id), reading(0, cpu: 0, read: 0), cpus: 2)
    #expect(await recorder.samples(of: .vm(id)).isEmpty)
    await recorder.record(.vm(id), reading(5, cpu: 5, read: 5000), cpus: 2)
    let first = await recorder.samples(of: .vm(id))
    #expect(first.count == 1)
    #expect(first.first?.cpuPercent == 50)  // 5 CPU-seconds of 2 vCPUs × 5 s
    #expect(first.first?.diskReadBytesPerSecond == 1000)
    #expect(first.first?.netReceiveBytesPerSecond == nil)
    for step in 2...6 {
      await recorder.record(.vm(id), reading(step * 5, cpu: Double(step) * 5, read: 0), cpus: 2)
    }
    let kept = await recorder.samples(of: .vm(id))
    #expect(kept.count == 3)
    // A counter that went backwards (QEMU restarted) is a zero rate, never a negative one.
    #expect(kept.allSatisfy { $0.diskReadBytesPerSecond >= 0 })
    await recorder.keepOnly(vms: [])
    #expect(await recorder.samples(of: .vm(id)).isEmpty)
  }
}
