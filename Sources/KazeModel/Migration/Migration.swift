import Foundation

/// A live migration of one running VM from its node to another, as the store records it. The
/// target agent prepares an incoming QEMU and says where it listens; the source agent drives
/// QEMU's migration and, once it completes, hands the VM to the target in one transaction.
public struct Migration: Codable, Sendable, Equatable {
  public var id: String
  public var vm: String
  public var source: String
  public var target: String
  public var state: MigrationState
  /// Where the target's QEMU waits for the stream (`tcp:HOST:PORT`), once it is prepared.
  public var incoming: String?
  /// QEMU's downtime limit for the final stop-and-copy phase.
  public var downtimeLimitMs: Int
  /// Bandwidth cap of the migration stream, MiB/s (0 = unlimited).
  public var bandwidthMiBps: Int
  public var progress: MigrationProgress
  /// Disks on the source's local pools, copied to the target during the migration: the target's
  /// NBD exports of its new copies, by disk name (nil or empty: every disk is on shared storage).
  public var storage: [String: NBDExport]?
  /// Disks on the replicated pool whose in-sync secondary copy is on the target (the fast path):
  /// they are not copied; the source keeps mirroring to that copy until the switch-over, and the
  /// target's QEMU runs from it once the VM is handed over.
  public var reusedCopies: [String]?
  /// Why it failed, when it did.
  public var error: String?
  public var createdAt: Date
  public var finishedAt: Date?

  public init(
    id: String = KazeTask.newID(), vm: String, source: String, target: String,
    state: MigrationState = .pending, incoming: String? = nil, downtimeLimitMs: Int = 30,
    bandwidthMiBps: Int = 0, progress: MigrationProgress = .init(), error: String? = nil,
    createdAt: Date = Date(), finishedAt: Date? = nil
  ) {
    self.id = id
    self.vm = vm
    self.source = source
    self.target = target
    self.state = state
    self.incoming = incoming
    self.downtimeLimitMs = downtimeLimitMs
    self.bandwidthMiBps = bandwidthMiBps
    self.progress = progress
    self.error = error
    self.createdAt = createdAt
    self.finishedAt = finishedAt
  }

  public var isActive: Bool { !state.isFinished }
}

public enum MigrationState: String, Codable, Sendable, CaseIterable {
  /// Recorded; the target has not prepared yet.
  case pending
  /// The target's QEMU listens at `incoming`.
  case ready
  /// The source's QEMU is sending.
  case migrating
  case completed
  case failed

  public var isFinished: Bool { self == .completed || self == .failed }
}

public struct MigrationProgress: Codable, Sendable, Equatable {
  public var percent: Double
  public var transferredBytes: Int64
  public var totalBytes: Int64
  public var remainingBytes: Int64
  /// Estimated seconds left at the current rate.
  public var etaSeconds: Double?
  /// Guest downtime QEMU measured, once completed.
  public var downtimeMs: Int?
  /// Total time QEMU measured, once completed.
  public var totalTimeMs: Int?
  /// `disks` while local disks are copied, then `memory`; one percentage covers both.
  public var phase: String?
  /// When the target reused its secondary copies: how long the guest waited on the target, from
  /// its QEMU having received the whole VM to running there (the hand-over, closing the copies'
  /// exports, taking the disks). The guest's downtime is `downtimeMs` plus this.
  public var switchoverMs: Int?

  public init(
    percent: Double = 0, transferredBytes: Int64 = 0, totalBytes: Int64 = 0,
    remainingBytes: Int64 = 0, etaSeconds: Double? = nil, downtimeMs: Int? = nil,
    totalTimeMs: Int? = nil, phase: String? = nil
  ) {
    self.phase = phase
    self.percent = percent
    self.transferredBytes = transferredBytes
    self.totalBytes = totalBytes
    self.remainingBytes = remainingBytes
    self.etaSeconds = etaSeconds
    self.downtimeMs = downtimeMs
    self.totalTimeMs = totalTimeMs
  }
}

/// Body of `POST /api/v1/vms/{name}/migrate`.
public struct MigrateRequest: Codable, Sendable, Equatable {
  /// The target node; the scheduler picks one when absent.
  public var to: String?
  public var downtimeLimitMs: Int?
  public var bandwidthMiBps: Int?

  enum CodingKeys: String, CodingKey, CaseIterable { case to, downtimeLimitMs, bandwidthMiBps }

  public init(to: String? = nil, downtimeLimitMs: Int? = nil, bandwidthMiBps: Int? = nil) {
    self.to = to
    self.downtimeLimitMs = downtimeLimitMs
    self.bandwidthMiBps = bandwidthMiBps
  }

  public init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    to = try c.decodeIfPresent(String.self, forKey: .to)
    downtimeLimitMs = try c.decodeIfPresent(Int.self, forKey: .downtimeLimitMs)
    bandwidthMiBps = try c.decodeIfPresent(Int.self, forKey: .bandwidthMiBps)
  }

  public func validate() throws {
    if let to { try Validators.name(to, field: "to") }
    if let downtimeLimitMs, !(1...60_000).contains(downtimeLimitMs) {
      throw KazeError.invalid(
        "downtimeLimitMs", "\(downtimeLimitMs) is not allowed; use 1 to 60000 ms")
    }
    if let bandwidthMiBps, !(0...100_000).contains(bandwidthMiBps) {
      throw KazeError.invalid(
        "bandwidthMiBps", "\(bandwidthMiBps) is not allowed; use 0 (unlimited) to 100000 MiB/s")
    }
  }
}
