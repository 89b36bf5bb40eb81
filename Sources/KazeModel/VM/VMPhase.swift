import Foundation

/// The observed lifecycle of a VM, with the one table of valid transitions.
public enum VMPhase: String, Codable, Sendable, CaseIterable {
  /// Not yet assigned to a node.
  case pending
  case stopped
  case starting
  case running
  case paused
  case stopping
  /// QEMU died while the VM should run; the agent restarts it after a backoff.
  case crashed
  /// Starting failed in a way retries will not fix (missing disk, bad spec); see lastError.
  case failed

  /// Whether the agent may move a VM from `self` to `next`.
  public func canTransition(to next: VMPhase) -> Bool {
    if next == self { return true }
    return Self.transitions[self, default: []].contains(next)
  }

  private static let transitions: [VMPhase: Set<VMPhase>] = [
    .pending: [.stopped, .starting, .failed],
    .stopped: [.starting, .pending, .failed],
    .starting: [.running, .paused, .stopped, .crashed, .failed],
    .running: [.paused, .stopping, .stopped, .crashed, .starting],
    .paused: [.running, .stopping, .stopped, .crashed],
    .stopping: [.stopped, .crashed, .running],
    .crashed: [.starting, .stopped, .failed, .running],
    .failed: [.starting, .stopped, .pending],
  ]

  /// Whether a QEMU process exists for a VM in this phase.
  public var hasProcess: Bool {
    switch self {
    case .starting, .running, .paused, .stopping: true
    default: false
    }
  }
}

/// What a user can ask of a VM, and in which phases each makes sense.
public enum VMAction: String, Codable, Sendable, CaseIterable {
  case start, stop, shutdown, reboot, pause, resume

  public func check(phase: VMPhase, desired: DesiredPower) throws {
    let allowed: Bool
    switch self {
    case .start: allowed = desired != .running || phase == .crashed || phase == .failed
    case .stop, .shutdown: allowed = desired != .stopped || phase.hasProcess
    case .reboot: allowed = desired == .running && phase == .running
    case .pause: allowed = desired == .running && phase == .running
    case .resume: allowed = desired == .paused || phase == .paused
    }
    if !allowed {
      throw KazeError(
        .invalidState,
        "cannot \(rawValue) a VM that is \(phase.rawValue) (wanted: \(desired.rawValue))",
        reason: "vm.action-state",
        values: ["action": rawValue, "phase": phase.rawValue, "desired": desired.rawValue])
    }
  }
}
