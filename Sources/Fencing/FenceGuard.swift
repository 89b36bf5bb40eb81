#if canImport(Glibc)
  import Glibc
#endif

/// The decisions of the fence guard, as pure functions of the clock and the lease window.
public enum FencePolicy {
  /// Past `fenceAt` the node's HA VMs must not run. Without a window there is nothing to guard.
  public static func mustFence(now: UInt64, lease: LeaseWindow?) -> Bool {
    guard let lease else { return false }
    return now >= lease.fenceAt
  }

  /// The hardware watchdog may be petted when a reset one timeout from now would still come
  /// before the store can expire the lease — or when no HA VM runs here (then a stuck guard
  /// endangers nothing, and a node cut off from the store is not reset needlessly).
  public static func mayPet(
    now: UInt64, lease: LeaseWindow?, watchdogTimeout: UInt64, haRunning: () -> Bool
  ) -> Bool {
    if let lease, now + watchdogTimeout < lease.expiresAt { return true }
    return !haRunning()
  }
}

/// The fence guard: a tiny process (`kaze-fence`) next to kazed that outlives it. Every 50 ms it
/// reads the lease window kazed last published; once `fenceAt` has passed without a newer
/// window — because the node lost the store, or because kazed itself died or hangs — it
/// SIGKILLs the QEMUs of the node's HA VMs, again on every round while that lasts. It can also
/// pet a hardware watchdog as a backstop for the case where the guard itself cannot act.
public final class FenceGuard {
  public let directory: FenceDirectory
  let watchdog: HardwareWatchdog?
  let interval: UInt32
  /// How long after the lease expired, with no HA VM left, the guard exits on its own.
  let idleExit: UInt64
  let log: (String) -> Void
  private var reported: Set<pid_t> = []

  public init(
    directory: FenceDirectory, watchdog: HardwareWatchdog?, intervalMicroseconds: UInt32 = 50_000,
    idleExitSeconds: UInt64 = 30, log: @escaping (String) -> Void
  ) {
    self.directory = directory
    self.watchdog = watchdog
    self.interval = intervalMicroseconds
    self.idleExit = idleExitSeconds * 1_000_000_000
    self.log = log
  }

  /// One round; returns false when the guard has nothing left to guard and should exit.
  public func round(now: UInt64 = BootClock.now()) -> Bool {
    // The node's data folder was removed: there is no node left to guard.
    if access(directory.path, F_OK) != 0 { return false }
    let lease = directory.lease()
    if FencePolicy.mustFence(now: now, lease: lease) {
      let ids = directory.haVMs()
      for victim in GuestProcesses.kill(ids, runDirectory: directory.runDirectory)
      where !reported.contains(victim.pid) {
        reported.insert(victim.pid)
        log("fenced: lease not renewed in time; killed QEMU \(victim.pid) of VM \(victim.vm)")
      }
    } else {
      reported.removeAll()
    }
    if let watchdog {
      let timeout = UInt64(watchdog.timeoutSeconds) * 1_000_000_000
      if FencePolicy.mayPet(
        now: now, lease: lease, watchdogTimeout: timeout,
        haRunning: { !directory.guests(of: directory.haVMs()).isEmpty })
      {
        watchdog.pet()
      }
    }
    if let lease, now > lease.expiresAt + idleExit,
      directory.guests(of: directory.haVMs()).isEmpty
    {
      return false
    }
    return true
  }

  /// Runs rounds until there is nothing left to guard or `stop()` returns true.
  public func run(stop: () -> Bool) {
    while !stop() && round() {
      usleep(interval)
    }
    watchdog?.disarm()
  }
}
