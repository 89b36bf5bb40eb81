import Foundation
import KazeModel

/// The load graphs' memory: for this node and each VM it runs, the last hour of samples (one
/// every `interval`), made from cumulative counters by differencing consecutive readings.
public actor MetricsRecorder: MetricsSource {
  /// Cumulative counters read at one moment; rates come from two of them.
  struct Reading: Sendable {
    var at: ContinuousClock.Instant
    var cpuBusy: Double  // seconds of CPU
    var cpuCapacity: Double  // seconds of CPU available so far (node) or 0 (VM: from vCPUs)
    var memoryUsed: Int64
    var memoryTotal: Int64
    var diskRead: UInt64
    var diskWritten: UInt64
    var netReceived: UInt64?
    var netSent: UInt64?
  }

  public nonisolated let interval: Duration
  let capacity: Int
  private var last: [MetricSubject: Reading] = [:]
  private var samples: [MetricSubject: [MetricSample]] = [:]

  public init(interval: Duration = .seconds(10), keep: Duration = .seconds(3600)) {
    self.interval = interval
    self.capacity = max(1, Int(keep.seconds / interval.seconds))
  }

  /// Adds a reading; from the second one on, a sample of the rates since the one before.
  /// `cpus` turns CPU seconds into a percentage (the VM's vCPUs; the node passes capacity).
  func record(_ subject: MetricSubject, _ reading: Reading, cpus: Int, at time: Date = Date()) {
    defer { last[subject] = reading }
    guard let previous = last[subject] else { return }
    let seconds = (reading.at - previous.at).seconds
    guard seconds > 0 else { return }
    let cpuSeconds =
      reading.cpuCapacity > previous.cpuCapacity
      ? reading.cpuCapacity - previous.cpuCapacity : seconds * Double(max(cpus, 1))
    let rate = { (now: UInt64, before: UInt64) in now >= before ? Double(now - before) / seconds : 0
    }
    let sample = MetricSample(
      time: time,
      cpuPercent: min(100, max(0, (reading.cpuBusy - previous.cpuBusy) / cpuSeconds * 100)),
      memoryUsedBytes: reading.memoryUsed, memoryTotalBytes: reading.memoryTotal,
      diskReadBytesPerSecond: rate(reading.diskRead, previous.diskRead),
      diskWriteBytesPerSecond: rate(reading.diskWritten, previous.diskWritten),
      netReceiveBytesPerSecond: zip(reading.netReceived, previous.netReceived).map(rate),
      netTransmitBytesPerSecond: zip(reading.netSent, previous.netSent).map(rate))
    var series = samples[subject, default: []]
    series.append(sample)
    if series.count > capacity { series.removeFirst(series.count - capacity) }
    samples[subject] = series
  }

  /// Forgets VMs that no longer run here (a VM that comes back starts a new graph).
  func keepOnly(vms: Set<UUID>) {
    for subject in Array(last.keys) + Array(samples.keys) {
      if case .vm(let id) = subject, !vms.contains(id) {
        last[subject] = nil
        samples[subject] = nil
      }
    }
  }

  /// The samples of the last `minutes`, oldest first.
  public func samples(of subject: MetricSubject, minutes: Int = 60) -> [MetricSample] {
    let since = Date().addingTimeInterval(-Double(minutes) * 60)
    return samples[subject, default: []].filter { $0.time >= since }
  }
}

private func zip<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
  guard let a, let b else { return nil }
  return (a, b)
}
