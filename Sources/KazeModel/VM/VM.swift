import Foundation

/// A VM as the store keeps it: identity, spec, and the power state the user wants.
/// Observed state lives apart, in `VMStatus`, written only by the node agent that runs it.
public struct VM: Codable, Sendable, Equatable {
  public var id: UUID
  public var name: String
  public var owner: String
  public var image: String?
  public var spec: VMSpec
  public var desired: DesiredPower
  /// How a stop requested by the user should be carried out.
  public var stopMode: StopMode
  /// Incremented for each reboot the user asks for; the agent reboots when its count lags.
  public var rebootRequests: Int
  /// The node this VM is assigned to; nil until the placement controller decides.
  public var node: String?
  /// Ownership epoch: bumped whenever the VM is given to a node (placement, migration,
  /// recovery), mirrored in its `VMOwner` key.
  public var epoch: Int
  /// High availability; nil or disabled: the VM stays down when its node dies.
  public var ha: HAPolicy?
  /// How many times HA moved this VM to another node.
  public var haRelocations: Int
  /// Set by HA recovery until the new node reports the VM running.
  public var recovery: RecoveryInfo?
  public var createdAt: Date

  public init(
    id: UUID = UUID(), name: String, owner: String = "admin", image: String?, spec: VMSpec,
    desired: DesiredPower = .stopped, stopMode: StopMode = .acpi, rebootRequests: Int = 0,
    node: String? = nil, epoch: Int = 0, ha: HAPolicy? = nil, haRelocations: Int = 0,
    recovery: RecoveryInfo? = nil, createdAt: Date = Date()
  ) {
    self.epoch = epoch
    self.ha = ha
    self.haRelocations = haRelocations
    self.recovery = recovery
    self.id = id
    self.name = name
    self.owner = owner
    self.image = image
    self.spec = spec
    self.desired = desired
    self.stopMode = stopMode
    self.rebootRequests = rebootRequests
    self.node = node
    self.createdAt = createdAt
  }
}

/// Where an HA recovery came from and when the node's death was noticed.
public struct RecoveryInfo: Codable, Sendable, Equatable {
  public var from: String
  public var detectedAt: Date

  public init(from: String, detectedAt: Date) {
    self.from = from
    self.detectedAt = detectedAt
  }
}

public enum DesiredPower: String, Codable, Sendable, CaseIterable { case running, paused, stopped }

public enum StopMode: String, Codable, Sendable {
  /// ACPI power button, then a hard stop when the guest has not powered off in time.
  case acpi
  /// Kill QEMU at once (pulling the plug).
  case hard
}

/// What the node agent last saw of a VM.
public struct VMStatus: Codable, Sendable, Equatable {
  public var phase: VMPhase
  public var node: String?
  public var pid: Int32?
  public var accelerator: String?
  /// The CPU model QEMU runs this VM with (what a migration target must use too).
  public var cpuModel: String?
  public var startedAt: Date?
  public var lastError: String?
  /// Restarts after QEMU died while the VM should have been running.
  public var crashRestarts: Int
  /// An HA VM that kept crashing on its node (more than `maxRestarts` times in a row): HA
  /// restarts it on another node.
  public var needsRelocation: Bool?
  public var rebootsDone: Int
  public var updatedAt: Date

  public init(
    phase: VMPhase, node: String? = nil, pid: Int32? = nil, accelerator: String? = nil,
    cpuModel: String? = nil, startedAt: Date? = nil, lastError: String? = nil,
    crashRestarts: Int = 0, needsRelocation: Bool? = nil, rebootsDone: Int = 0,
    updatedAt: Date = Date()
  ) {
    self.needsRelocation = needsRelocation
    self.phase = phase
    self.node = node
    self.pid = pid
    self.accelerator = accelerator
    self.cpuModel = cpuModel
    self.startedAt = startedAt
    self.lastError = lastError
    self.crashRestarts = crashRestarts
    self.rebootsDone = rebootsDone
    self.updatedAt = updatedAt
  }
}

/// A VM together with its observed status: what the API returns.
public struct VMView: Codable, Sendable, Equatable {
  public var vm: VM
  public var status: VMStatus
  /// Where the copies of its replicated disks are and how they stand (nil: none).
  public var replication: Replication?

  public init(vm: VM, status: VMStatus, replication: Replication? = nil) {
    self.vm = vm
    self.status = status
    self.replication = replication
  }
}
