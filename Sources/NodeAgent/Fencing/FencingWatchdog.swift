import Foundation
import Logging

#if canImport(Glibc)
  import Glibc
#endif

/// Self-fencing. When this node's store lease has not been renewed for `TTL − margin` (counted
/// from when the last successful renewal was *sent*, on the monotonic clock), it kills the QEMU
/// processes of the node's HA VMs — from a thread of its own, so a stuck agent loop or a store
/// that no longer answers cannot delay it. The store expires the lease only after the full TTL,
/// so by the time the leader restarts those VMs elsewhere, these copies are gone.
public final class FencingWatchdog: @unchecked Sendable {
  private let lock = NSLock()
  private var lastRenewalSent: ContinuousClock.Instant?
  private var haProcesses: [String: pid_t] = [:]
  private var fenced = false
  private var running = false
  public let deadline: Duration
  private let logger: Logger

  public init(ttl: Duration, margin: Duration? = nil, logger: Logger) {
    let margin = margin ?? max(ttl / 5, .milliseconds(500))
    self.deadline = max(ttl - margin, ttl / 2)
    self.logger = logger
  }

  public func start() {
    let started = lock.withLock {
      defer { running = true }
      return running
    }
    guard !started else { return }
    Thread.detachNewThread { [self] in
      while lock.withLock({ running }) {
        usleep(50_000)
        check(now: .now)
      }
    }
  }

  public func stop() { lock.withLock { running = false } }

  /// A renewal that was sent at `sentAt` succeeded (or a new lease was granted then).
  public func renewed(sentAt: ContinuousClock.Instant) {
    lock.withLock {
      if lastRenewalSent.map({ sentAt > $0 }) ?? true { lastRenewalSent = sentAt }
      fenced = false
    }
  }

  /// The QEMU pids of this node's HA VMs, by VM name.
  public func track(_ processes: [String: pid_t]) {
    lock.withLock { haProcesses = processes }
  }

  /// Adds one HA VM's QEMU at once (between the agent's rounds).
  public func add(_ vm: String, pid: pid_t) {
    lock.withLock { haProcesses[vm] = pid }
  }

  public var isFenced: Bool { lock.withLock { fenced } }

  func check(now: ContinuousClock.Instant) {
    let victims: [String: pid_t]? = lock.withLock {
      guard !fenced, let last = lastRenewalSent, now - last > deadline else { return nil }
      fenced = true
      return haProcesses
    }
    guard let victims else { return }
    for (vm, pid) in victims {
      _ = Glibc.kill(pid, SIGKILL)
      logger.critical("self-fencing: lease not renewed in time; killed HA VM \(vm) (pid \(pid))")
    }
    if victims.isEmpty {
      logger.critical("self-fencing: lease not renewed in time; no HA VM to stop")
    }
  }
}
