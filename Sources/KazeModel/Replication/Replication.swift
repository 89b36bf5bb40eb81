import Foundation

/// The replication of one VM's disks on the `replicated` pool: the primary copies are on the node
/// that runs the VM (`VM.node`), the secondary copies on `secondary`, served there over NBD and
/// mirrored to synchronously by the primary's QEMU.
///
/// Written by three parties, each through a compare-and-swap: the leader (secondary choice, and
/// the role swap on failover, in the same transaction that moves the VM), the secondary's agent
/// (its exports) and the primary's agent (the disk states, only while it owns the VM's epoch).
public struct Replication: Codable, Sendable, Equatable {
  public static let poolName = "replicated"

  public var vm: String
  /// The node holding the primary copies: the one that runs the VM (`VM.node`).
  public var primary: String
  /// The node holding the secondary copies; nil while none is chosen (a new one is chosen as
  /// soon as a node can take it).
  public var secondary: String?
  /// The VM epoch these roles belong to. Exports are named with it, so a primary from an older
  /// epoch (a node that comes back after a failover) can never reach a newer copy.
  public var epoch: Int
  /// Per disk name.
  public var disks: [String: DiskReplica]
  /// The node that last ran the VM with these copies as primary (set on failover).
  public var previousPrimary: String?
  /// Set by the primary's agent once it has created its copies: from then on a missing copy is
  /// an error, never a reason to create a blank disk.
  public var seeded: Bool
  /// Why there is no secondary, when there is none.
  public var note: String?

  public init(
    vm: String, primary: String, secondary: String? = nil, epoch: Int,
    disks: [String: DiskReplica] = [:],
    previousPrimary: String? = nil, seeded: Bool = false, note: String? = nil
  ) {
    self.vm = vm
    self.primary = primary
    self.secondary = secondary
    self.epoch = epoch
    self.disks = disks
    self.previousPrimary = previousPrimary
    self.seeded = seeded
    self.note = note
  }

  /// Whether every disk's secondary copy holds every write the guest was told is done.
  public var allInSync: Bool {
    !disks.isEmpty && disks.values.allSatisfy { $0.state == .inSync }
  }

  /// The VM's disks on the replicated pool.
  public static func disks(of vm: VM) -> [DiskSpec] {
    vm.spec.disks.filter { $0.pool == poolName }
  }

  /// Whether the VM has disks on the replicated pool.
  public static func isReplicated(_ vm: VM) -> Bool {
    vm.spec.disks.contains { $0.pool == poolName }
  }

  /// Every disk back to `degraded` with nothing copied and no export: what a secondary that is
  /// new, gone or paused holds of it is not to be trusted.
  public mutating func restartCopies(at date: Date = Date()) {
    for (name, disk) in disks {
      disks[name] = DiskReplica(state: .degraded, totalBytes: disk.totalBytes, since: date)
    }
  }

  /// The NBD export name of a disk's secondary copy for this epoch.
  public static func exportName(vmID: UUID, disk: String, epoch: Int) -> String {
    // QEMU node names (the export's too) must start with a letter.
    exportPrefix(vmID: vmID, disk: disk) + "\(epoch)"
  }

  /// What the export names of a disk's secondary copies start with, whatever the epoch.
  public static func exportPrefix(vmID: UUID, disk: String) -> String {
    "vm\(vmID.uuidString.lowercased().prefix(8))-\(disk)-e"
  }
}

public struct DiskReplica: Codable, Sendable, Equatable {
  public var state: ReplicaState
  /// Bytes of the disk the secondary has (of `totalBytes`) while syncing or resyncing.
  public var syncedBytes: Int64
  public var totalBytes: Int64
  /// The secondary's NBD export for this disk, once it serves one.
  public var export: NBDExport?
  /// When the state last changed.
  public var since: Date
  /// The last resync after a degraded spell: how much it copied and how long it took.
  public var lastResync: ResyncFigures?
  /// Since when the primary's persistent dirty bitmaps cover every write the secondary copy may
  /// lack, so a new QEMU of the VM (a stop and start, while degraded too) copies only those
  /// ranges; nil: it would copy the whole disk.
  public var tracked: Date?

  public init(
    state: ReplicaState, syncedBytes: Int64 = 0, totalBytes: Int64 = 0, export: NBDExport? = nil,
    since: Date = Date(), lastResync: ResyncFigures? = nil
  ) {
    self.state = state
    self.syncedBytes = syncedBytes
    self.totalBytes = totalBytes
    self.export = export
    self.since = since
    self.lastResync = lastResync
  }
}

public enum ReplicaState: String, Codable, Sendable, CaseIterable {
  /// The first full copy to a new secondary is under way.
  case syncing
  /// Every acknowledged write is on both copies.
  case inSync = "in-sync"
  /// The secondary cannot be reached (or there is none): the VM runs on its primary copy alone.
  case degraded
  /// The secondary is back; only what changed while degraded is being copied.
  case resyncing
}

public struct NBDExport: Codable, Sendable, Equatable {
  public var host: String
  public var port: Int
  public var name: String
  /// For a replica export: which copy it serves (a new empty copy gets a new id), so the primary
  /// knows whether its dirty bitmaps describe what that very copy lacks.
  public var copy: String?

  public init(host: String, port: Int, name: String, copy: String? = nil) {
    self.host = host
    self.port = port
    self.name = name
    self.copy = copy
  }
}

public struct ResyncFigures: Codable, Sendable, Equatable {
  public var bytes: Int64
  public var seconds: Double

  public init(bytes: Int64, seconds: Double) {
    self.bytes = bytes
    self.seconds = seconds
  }
}
