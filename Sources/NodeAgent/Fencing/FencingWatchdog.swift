import Fencing
import Foundation
import Logging

#if canImport(Glibc)
  import Glibc
#endif

/// Self-fencing. When this node's store lease has not been renewed for `TTL − margin` (counted
/// from when the last successful renewal was *sent*), the QEMUs of the node's HA VMs are killed.
/// Two things do it, independently of the agent's loop:
/// - the fence guard (`kaze-fence`, see `FenceGuard`), a separate small process that also acts
///   when kazed itself has died or hangs; this class publishes the lease window and the HA VM
///   ids to it after every renewal and restarts it if it is gone;
/// - a thread of kazed's own, as a second line, which also tells the agent that it is fenced
///   (and must start nothing).
/// The store expires the lease only after the full TTL, so by the time the leader restarts those
/// VMs elsewhere, these copies are gone.
public final class FencingWatchdog: @unchecked Sendable {
  private let lock = NSLock()
  private var lastRenewalSent: ContinuousClock.Instant?
  private var protected: Set<String> = []
  private var published: Set<String>?
  private var fenced = false
  private var episode: FenceEpisode?
  private var running = false
  public let ttl: Duration
  public let deadline: Duration
  /// Nil when fencing is off (one node on the embedded store: nobody else could start its VMs).
  let directory: FenceDirectory?
  private let launcher: FenceGuardLauncher?
  private let logger: Logger

  public init(
    ttl: Duration, margin: Duration? = nil, directory: FenceDirectory?,
    guardExecutable: String? = FenceGuardLauncher.defaultExecutable(),
    guardArguments: [String] = [], logger: Logger
  ) {
    let margin = margin ?? max(ttl / 5, .milliseconds(500))
    self.ttl = ttl
    self.deadline = max(ttl - margin, ttl / 2)
    self.directory = directory
    self.launcher = directory.map {
      FenceGuardLauncher(
        directory: $0, executable: guardExecutable, arguments: guardArguments, logger: logger)
    }
    self.logger = logger
  }

  public func start() {
    guard let directory else { return }
    let started = lock.withLock {
      defer { running = true }
      return running
    }
    guard !started else { return }
    do {
      try FileManager.default.createDirectory(
        atPath: directory.path, withIntermediateDirectories: true)
    } catch {
      logger.error("fencing: cannot create \(directory.path): \(error)")
    }
    // A window left by an earlier run must not fence (or protect) anything: a guard that is
    // still running from before keeps it, until this run's first renewal replaces it.
    if !directory.guardIsRunning() { directory.clearLease() }
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
    let latest: ContinuousClock.Instant = lock.withLock {
      if lastRenewalSent.map({ sentAt > $0 }) ?? true { lastRenewalSent = sentAt }
      fenced = false
      return lastRenewalSent ?? sentAt
    }
    guard let directory else { return }
    let sent = BootClock.reading(of: latest)
    do {
      try directory.publish(
        LeaseWindow(
          fenceAt: sent + BootClock.nanoseconds(deadline),
          expiresAt: sent + BootClock.nanoseconds(ttl)))
    } catch {
      logger.error("fencing: \(error)")
    }
    launcher?.ensureRunning()
  }

  /// The ids of this node's HA VMs: their QEMUs are the ones killed when the node fences.
  public func protect(_ ids: Set<String>) {
    let changed: Bool = lock.withLock {
      protected = ids
      return published != ids
    }
    if changed { publishProtected() }
  }

  /// Adds one HA VM before its QEMU is started (between the agent's rounds).
  public func protect(adding id: String) {
    let changed: Bool = lock.withLock {
      protected.insert(id)
      return published != protected
    }
    if changed { publishProtected() }
  }

  private func publishProtected() {
    guard let directory else { return }
    let ids = lock.withLock { protected }
    do {
      try directory.publishHAVMs(ids)
      lock.withLock { published = ids }
    } catch {
      logger.error("fencing: \(error)")
    }
  }

  public var isFenced: Bool { lock.withLock { fenced } }

  /// The last time this node fenced, once it has its lease back (then forgotten): the agent
  /// reports it, since nothing could be written to the store while it happened.
  public func takeEpisode() -> FenceEpisode? {
    lock.withLock {
      guard !fenced, let done = episode else { return nil }
      episode = nil
      return done
    }
  }

  func check(now: ContinuousClock.Instant) {
    let victims: Set<String>? = lock.withLock {
      guard !fenced, let last = lastRenewalSent, now - last > deadline else { return nil }
      fenced = true
      episode = FenceEpisode(at: Date(), silence: now - last, vmIDs: protected)
      return protected
    }
    kill(victims, why: "lease not renewed in time")
  }

  /// The store says this node's lease is gone although renewals went through (etcd 3.4 lets a
  /// leader that stalled and resumed revoke every lease: etcd issues 12528 and 15247). The
  /// leader may be restarting this node's HA VMs elsewhere already, and the deadline would never
  /// come (the next lease renews fine), so the HA QEMUs are killed now.
  public func leaseLost() {
    let victims: Set<String>? = lock.withLock {
      guard !fenced, directory != nil else { return nil }
      fenced = true
      let silence = lastRenewalSent.map { ContinuousClock.now - $0 } ?? .zero
      episode = FenceEpisode(at: Date(), silence: silence, vmIDs: protected)
      return protected
    }
    kill(victims, why: "the store dropped this node's lease")
  }

  private func kill(_ victims: Set<String>?, why: String) {
    guard let victims, let directory else { return }
    let killed = GuestProcesses.kill(victims, runDirectory: directory.runDirectory)
    for victim in killed {
      logger.critical("self-fencing: \(why); killed QEMU \(victim.pid) of HA VM \(victim.vm)")
    }
    if killed.isEmpty {
      logger.critical("self-fencing: \(why); no HA VM running here to stop")
    }
  }
}

/// One time this node fenced itself.
public struct FenceEpisode: Sendable {
  public var at: Date
  /// How long the lease had gone unrenewed.
  public var silence: Duration
  /// The HA VMs it was protecting (their QEMUs were killed).
  public var vmIDs: Set<String>
}
