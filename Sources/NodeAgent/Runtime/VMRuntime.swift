import Foundation
import Hypervisor
import KazeModel

/// What the agent knows about one VM on its node between reconcile rounds.
struct VMRuntime {
  var process: QEMUProcess?
  var monitor: VMMonitor?
  var phase: VMPhase = .stopped
  var startedAt: Date?
  var lastError: String?
  var crashRestarts = 0
  /// Crashes without a run of at least a minute in between.
  var consecutiveCrashes = 0
  var needsRelocation = false
  var rebootsDone = 0
  /// When QEMU last confirmed the run state over QMP.
  var verifiedAt: ContinuousClock.Instant?
  /// After a crash or a failed start: no new start before this instant.
  var restartNotBefore: ContinuousClock.Instant?
  var backoff: Duration?
  /// When the ACPI power button was pressed for a shutdown in progress.
  var stoppingSince: ContinuousClock.Instant?
  /// The agent itself stopped QEMU, so its exit is not a crash.
  var expectingExit = false
  /// A start, stop or task is in progress; reconcile rounds leave the VM alone meanwhile.
  var busy = false
  var lastWritten: VMStatus?
  /// The CPU model this QEMU runs the guest with.
  var cpuModel: String?
  /// The ownership epoch under which this node runs the VM.
  var epoch: Int?
  /// On the target of a live migration: the migration this QEMU is waiting for (`-incoming`).
  var incomingMigration: String?
  /// On the source: the migration the agent is driving; the reconcile loop leaves the VM alone.
  var outgoingMigration: String?
  /// On the source of a migration that reuses the target's secondary copies: the replication
  /// mirror keeps running (and its state keeps being recorded) until the switch-over.
  var keepsReplicaMirror = false
  /// On the target of such a migration: a task follows the incoming QEMU to switch over the
  /// moment the VM is handed over; the reconcile loop leaves the switch to it.
  var awaitsSwitchover = false
  /// Disks a live `kaze disk move` is copying: the replica monitor leaves them alone.
  var movingDisks: Set<String> = []

  func status(node: String, accelerator: Accelerator) -> VMStatus {
    VMStatus(
      phase: phase, node: node, pid: process?.pid,
      accelerator: process == nil ? nil : accelerator.rawValue,
      cpuModel: process == nil ? nil : cpuModel, startedAt: startedAt,
      lastError: lastError, crashRestarts: crashRestarts,
      needsRelocation: needsRelocation ? true : nil, rebootsDone: rebootsDone)
  }
}

extension VMStatus {
  /// Equal apart from the time it was written: no need to write it again.
  func sameState(as other: VMStatus?) -> Bool {
    guard var other else { return false }
    other.updatedAt = updatedAt
    return self == other
  }
}
