import Foundation

/// One point of a node's or VM's recent load, as rates over the interval before `time`.
public struct MetricSample: Codable, Sendable, Equatable {
  public var time: Date
  /// CPU busy: percent of the node's CPUs, or of the VM's vCPUs (0–100).
  public var cpuPercent: Double
  /// Node: memory in use (total minus available). VM: what its QEMU holds in RAM.
  public var memoryUsedBytes: Int64
  /// Node: its memory. VM: the memory it was given.
  public var memoryTotalBytes: Int64
  /// Node: its disks. VM: what the guest read and wrote (all its disks).
  public var diskReadBytesPerSecond: Double
  public var diskWriteBytesPerSecond: Double
  /// Node: its interfaces but loopback. VM: its bridged NICs, as the guest sees them (nil for a
  /// VM with only user-mode NICs: QEMU keeps no counters for those).
  public var netReceiveBytesPerSecond: Double?
  public var netTransmitBytesPerSecond: Double?

  public init(
    time: Date, cpuPercent: Double, memoryUsedBytes: Int64, memoryTotalBytes: Int64,
    diskReadBytesPerSecond: Double, diskWriteBytesPerSecond: Double,
    netReceiveBytesPerSecond: Double?, netTransmitBytesPerSecond: Double?
  ) {
    self.time = time
    self.cpuPercent = cpuPercent
    self.memoryUsedBytes = memoryUsedBytes
    self.memoryTotalBytes = memoryTotalBytes
    self.diskReadBytesPerSecond = diskReadBytesPerSecond
    self.diskWriteBytesPerSecond = diskWriteBytesPerSecond
    self.netReceiveBytesPerSecond = netReceiveBytesPerSecond
    self.netTransmitBytesPerSecond = netTransmitBytesPerSecond
  }
}

/// What a graph is of.
public enum MetricSubject: Hashable, Sendable {
  case node(String)
  case vm(UUID)
}

/// The recent samples of one node or VM, oldest first, kept in memory by the node that measures
/// them (the VM's node), `intervalSeconds` apart, for up to an hour.
public struct MetricSeries: Codable, Sendable, Equatable {
  /// "node" or "vm".
  public var kind: String
  public var name: String
  /// The node that measured them.
  public var node: String
  public var intervalSeconds: Double
  public var samples: [MetricSample]

  public init(
    kind: String, name: String, node: String, intervalSeconds: Double, samples: [MetricSample]
  ) {
    self.kind = kind
    self.name = name
    self.node = node
    self.intervalSeconds = intervalSeconds
    self.samples = samples
  }
}

/// Where the API reads the samples the node keeps (the node agent's recorder).
public protocol MetricsSource: Sendable {
  var interval: Duration { get }
  func samples(of subject: MetricSubject, minutes: Int) async -> [MetricSample]
}
