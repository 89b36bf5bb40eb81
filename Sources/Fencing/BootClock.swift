#if canImport(Glibc)
  import Glibc
#endif

/// Nanoseconds on the kernel's boot clock (CLOCK_BOOTTIME): monotonic, counts suspended time,
/// and is the same clock in every process of this boot — so kazed and the fence guard can
/// exchange instants through a file.
public enum BootClock {
  public static func now() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_BOOTTIME, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
  }

  /// The boot-clock reading of an instant of Swift's `ContinuousClock`.
  public static func reading(of instant: ContinuousClock.Instant) -> UInt64 {
    let age = ContinuousClock.now - instant
    return now() &- nanoseconds(age)
  }

  public static func nanoseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds)) / 1_000_000_000
  }
}
